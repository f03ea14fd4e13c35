using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Diagnostics;

namespace Khonsu.Data.Transactions;

/// <summary>
/// Waits for a safe snapshot (see <see cref="SafeSnapshot"/>) for a deferrable transaction and takes
/// it on every backend of the connection string. Kept apart from the transaction because it is a
/// protocol of its own: candidate, cut, wait, and rollback when the candidate turns out unsafe.
/// </summary>
internal sealed class SafeSnapshotProtocol(KhonsuTransaction transaction)
{
    /// <summary>
    /// At a moment no writer of this process is committing, then checked that none began to while
    /// the backends took theirs (so they are one cut), then kept once every writer that could be
    /// concurrent with it has ended without making it unsafe. Otherwise the local transactions roll
    /// back and it tries again, until <paramref name="timeout"/>.
    /// </summary>
    public async Task TakeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var runtime = transaction.Owner.Runtime;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = "cancelled";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            // Connected first: the backend snapshots must follow each other closely.
            var inner = new List<(KhonsuBackend Backend, DbConnection Connection)>();
            foreach (var backend in runtime.Backends)
            {
                inner.Add((backend, await transaction.Owner.GetInnerConnectionAsync(backend, async: true, deadline.Token).ConfigureAwait(false)));
            }

            while (!await TryAsync(inner, deadline.Token).ConfigureAwait(false))
            {
                KhonsuTelemetry.SafeSnapshotRetries.Add(1);
            }

            outcome = "safe";
        }
        catch (OperationCanceledException cancelled) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            outcome = "timeout";
            throw KhonsuException.SafeSnapshotTimeout(
                $"Transaction {transaction.Id} found no safe snapshot within {timeout.TotalSeconds:0.###} s (key 'SafeSnapshotTimeout'): read-write transactions that began before it were still running, or writers kept committing.",
                transaction.Id,
                cancelled);
        }
        finally
        {
            KhonsuTelemetry.SafeSnapshotWait.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("khonsu.outcome", outcome));
        }
    }

    private async Task<bool> TryAsync(List<(KhonsuBackend Backend, DbConnection Connection)> inner, CancellationToken cancellationToken)
    {
        var certifier = transaction.Owner.Runtime.Certifier;
        var candidate = await certifier.OpenSafeSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var safe = false;
        try
        {
            transaction.Snapshots.BeginCut(candidate.Position);
            foreach (var (backend, backendConnection) in inner)
            {
                var local = await transaction.Enlistment.EnlistAsync(backend, backendConnection, cancellationToken).ConfigureAwait(false);
                await local.TakeSnapshotAsync(cancellationToken).ConfigureAwait(false);
            }

            safe = certifier.CutTaken(candidate) && await certifier.AwaitSafeAsync(candidate, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            certifier.CloseSafeSnapshot(candidate, keepSnapshot: safe);
            if (safe)
            {
                transaction.Snapshots.KeepCut(candidate.Position);
            }
            else
            {
                transaction.Snapshots.DropCut();
                await transaction.Owner.Runtime.Coordinator.RollbackAsync(transaction.Participants.All, transaction.Id, async: true, CancellationToken.None).ConfigureAwait(false);
                transaction.Participants.Clear();
            }
        }

        return safe;
    }
}
