using System.Data;
using System.Data.Common;
using System.Diagnostics;

namespace Khonsu.Data.Transactions;

/// <summary>
/// How a <see cref="KhonsuTransaction"/> ends: its commit request goes to the coordinator with its
/// participants, or they roll back; either way it completes once, lets go of its snapshot and its
/// age, and stops being the connection's current transaction.
/// </summary>
internal sealed class TransactionCompletion(KhonsuTransaction transaction, KhonsuConnection connection)
{
    public bool IsCompleted { get; private set; }

    /// <summary>Completed by a commit that succeeded (false while in progress, and after a rollback or a failed commit).</summary>
    public bool IsCommitted { get; private set; }

    /// <summary>Set once the transaction is disposed: using it then throws ObjectDisposedException, as Npgsql's does.</summary>
    public bool IsDisposed { get; set; }

    public void EnsureActive()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, transaction);
        if (IsCompleted)
        {
            throw new InvalidOperationException("This transaction has completed; it is no longer usable.");
        }
    }

    /// <summary>Certifies and commits atomically on every participant; an Engine failure comes out as its <see cref="KhonsuException"/> (see <see cref="CommitFailures"/>).</summary>
    /// <param name="async">False for <see cref="KhonsuTransaction.Commit"/> and a synchronous statement's implicit transaction: synchronous I/O all the way down (see <see cref="Engine.Coordination.CommitCoordinator.CommitAsync"/>).</param>
    /// <param name="cancellationToken">Honoured until the decision.</param>
    public async Task CommitAsync(bool async, CancellationToken cancellationToken)
    {
        EnsureActive();
        var started = Stopwatch.GetTimestamp();
        var participants = transaction.Participants;
        try
        {
            // Before the snapshots and reads are read: a prefetch may still run, and what is held goes unread.
            await (transaction.Prefetch?.DrainAsync(dropAll: true, async) ?? ValueTask.CompletedTask).ConfigureAwait(false);
            var serializable = transaction.IsolationLevel == IsolationLevel.Serializable;
            var info = transaction.Snapshots.CommitRequest(transaction.Id, transaction.StartedAt, transaction.Operation.ToString(), participants.Count, transaction.Reads.Reads(participants.RowReads), serializable);
            await connection.Runtime.Coordinator.CommitAsync(info, participants.All, async, cancellationToken).ConfigureAwait(false);
            IsCommitted = true;
            connection.Logger.Committed(transaction.TransactionId, participants.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception error) when (transaction.Retry.FailedTransiently(error))
        {
            throw; // not reached: the filter only notes the failure
        }
        catch (Exception error) when (CommitFailures.Translates(error))
        {
            throw CommitFailures.Translate(error, transaction.Id, connection.Logger);
        }
        finally
        {
            Complete();
        }
    }

    public async Task RollbackAsync(bool async, CancellationToken cancellationToken)
    {
        EnsureActive();
        try
        {
            await (transaction.Prefetch?.DrainAsync(dropAll: true, async) ?? ValueTask.CompletedTask).ConfigureAwait(false);
            await connection.Runtime.Coordinator.RollbackAsync(transaction.Participants.All, transaction.Id, async, cancellationToken).ConfigureAwait(false);
            connection.Logger.RolledBack(transaction.TransactionId, transaction.Participants.Count);
        }
        finally
        {
            Complete();
        }
    }

    /// <summary>
    /// Rolls back an implicit transaction whose statement failed or did not finish. Only reached
    /// with the statement's own error on its way to the caller, which says more than a rollback on
    /// a broken connection would; the transaction completes either way, and a broken inner
    /// connection is replaced on next use.
    /// </summary>
    public async ValueTask RollBackQuietlyAsync(bool async)
    {
        try
        {
            if (!IsCompleted)
            {
                await RollbackAsync(async, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception error) when (error is DbException or InvalidOperationException)
        {
        }
    }

    private void Complete()
    {
        IsCompleted = true;
        transaction.Retry.Ended(IsCommitted);
        transaction.Snapshots.Release();
        if (connection.CurrentTransaction == transaction)
        {
            connection.CurrentTransaction = null;
        }
    }
}
