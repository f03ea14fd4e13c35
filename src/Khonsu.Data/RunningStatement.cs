using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;

namespace Khonsu.Data;

/// <summary>One execution of a <see cref="KhonsuCommand"/> on its backend.</summary>
internal sealed class RunningStatement(
    KhonsuConnection connection,
    KhonsuTransaction? transaction,
    RouteDecision route,
    DbConnection innerConnection,
    BackendTransaction? local,
    DbCommand inner,
    KhonsuParameterCollection parameters)
{
    private WriteConflictGuard? _guard;

    /// <summary>The Khonsu connection the statement runs on.</summary>
    public KhonsuConnection Connection => connection;

    public DbCommand Inner { get; } = inner;

    /// <summary>The statement's span and latency measurement, ended when the statement ends.</summary>
    public Diagnostics.StatementScope? Telemetry { get; init; }

    /// <summary>
    /// The statement runs on its participant's Replace branch, at READ COMMITTED: what it reads
    /// there is the newest rows, not the transaction's snapshot, so its rows are not tracked as
    /// snapshot reads (validating them against the snapshot would fail on the branch's own writes).
    /// </summary>
    public bool OnBranch { get; init; }

    /// <summary>The implicit transaction the statement began (no transaction was in progress), committed when it ends.</summary>
    public KhonsuTransaction? Implicit { get; init; }

    /// <summary>Commits the statement's implicit transaction, if it began one and it has not completed (the connection closed first).</summary>
    public Task CommitImplicitAsync(CancellationToken cancellationToken)
        => Implicit is { IsCompleted: false } begun ? begun.CommitAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>What the transaction reads through the statement's reader; null outside a transaction.</summary>
    public ReaderReads? NewReaderReads() => local is null || transaction is null || OnBranch ? null : new ReaderReads(transaction, local, route, Inner.CommandText);

    /// <summary>Whether the statement runs under a write-conflict guard (<see cref="GuardAsync"/>).</summary>
    public bool Guarded => _guard is not null;

    /// <summary>
    /// The savepoint that lets a conflict policy resolve the statement's write-write conflict, or
    /// null (see <see cref="WriteConflictGuard"/>). It goes when the statement completes.
    /// </summary>
    public async ValueTask<WriteConflictGuard?> GuardAsync(CancellationToken cancellationToken)
    {
        _guard = OnBranch ? null : await WriteConflictGuard.BeginAsync(connection, transaction, route, local, cancellationToken).ConfigureAwait(false);
        return _guard;
    }

    /// <summary>The same statement, to run again on its participant's Replace branch (null where the backend has none).</summary>
    public async ValueTask<RunningStatement?> OnBranchAsync(CancellationToken cancellationToken)
    {
        _guard = null; // resolving the conflict released its savepoint
        if (local is null || await local.CreateBranchCommandAsync(cancellationToken).ConfigureAwait(false) is not { } branch)
        {
            return null;
        }

        branch.CommandText = Inner.CommandText;
        branch.CommandType = Inner.CommandType;
        branch.CommandTimeout = Inner.CommandTimeout;
        ParameterCopier.CopyIn(parameters, branch);
        return new RunningStatement(connection, transaction, route, innerConnection, local, branch, parameters) { Telemetry = Telemetry, OnBranch = true, Implicit = Implicit };
    }

    /// <summary>The statement was dropped (the Ignore policy): its backend snapshot is taken all the same, but it read and wrote nothing.</summary>
    public void Dropped()
    {
        _guard = null; // resolving the conflict released its savepoint
        transaction?.StatementRan();
    }

    /// <summary>The statement ended, whichever way: the transaction waits on nothing of it any more.</summary>
    public void Ended() => transaction?.StatementEnded();

    /// <summary>The statement's error as the caller should see it (see <see cref="BackendTransaction.AsSerializationFailure"/>).</summary>
    public Exception Translate(DbException error) => local?.AsSerializationFailure(error) ?? (Exception)error;

    /// <summary>
    /// The statement has run on its backend (its snapshot there is taken). What a write filtered on
    /// is recorded now; for a point write, only once it has finished (<see cref="CompleteAsync"/>)
    /// tells whether it found every key.
    /// </summary>
    public void Ran()
    {
        transaction?.StatementRan();
        if (route.PointKeys is null)
        {
            transaction?.RecordWriteReads(route, null);
        }
    }

    /// <summary>
    /// After the statement finished, <paramref name="recordsAffected"/> rows (null: unknown): a
    /// point write's reads, output parameters back, and the catalog refreshed after DDL.
    /// </summary>
    public async ValueTask CompleteAsync(int? recordsAffected, CancellationToken cancellationToken)
    {
        if (_guard is not null)
        {
            await _guard.ReleaseAsync(cancellationToken).ConfigureAwait(false);
        }

        if (route.PointKeys is not null)
        {
            transaction?.RecordWriteReads(route, recordsAffected);
        }

        ParameterCopier.CopyOut(Inner, parameters);
        if (route.ChangesSchema)
        {
            await connection.Runtime.OnSchemaChangedAsync(route.Backend, innerConnection, local, cancellationToken).ConfigureAwait(false);
        }
    }
}
