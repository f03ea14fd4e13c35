using System.Data;
using System.Data.Common;
using Khonsu.Data.Prefetch;
using Khonsu.Data.Transactions;

namespace Khonsu.Data;

/// <summary>
/// A transaction across every backend it touches. Each backend's local transaction begins when a
/// statement first reaches that backend; commit is atomic across all of them.
/// </summary>
/// <remarks>
/// The ADO.NET facade. The statement pipeline works with the internal types of
/// <c>Khonsu.Data.Transactions</c> it exposes: participants and savepoints, enlistment, the read
/// set, branched tables, snapshot positions, and the retry bookkeeping.
/// </remarks>
public sealed class KhonsuTransaction : DbTransaction
{
    private readonly KhonsuConnection _connection;

    /// <param name="age">The age of the transaction this one retries (see <see cref="Runtime.TransactionAges"/>); null for a new one.</param>
    internal KhonsuTransaction(KhonsuConnection connection, IsolationLevel isolationLevel, bool readOnly = false, bool deferrable = false, bool isImplicit = false, long? age = null)
    {
        _connection = connection;
        IsolationLevel = isolationLevel;
        IsReadOnly = readOnly || deferrable;
        IsDeferrable = deferrable;
        IsImplicit = isImplicit;
        Id = Engine.TransactionId.New();
        StartedAt = DateTimeOffset.UtcNow;
        Retry = new TransactionRetry(connection, age);
        Reads = new ReadSet(isolationLevel == IsolationLevel.Serializable);
        Snapshots = new TransactionSnapshots(connection, IsReadOnly, IsDeferrable);
        Enlistment = new TransactionEnlistment(this, connection);
        Completion = new TransactionCompletion(this, connection);
        Prefetch = !isImplicit && connection.Runtime.Prefetch is { } prefetch ? new TransactionPrefetch(this, connection, prefetch) : null;
    }

    /// <summary>The transaction's id, as transaction_log shows it.</summary>
    public string TransactionId => Id.ToString();

    /// <summary>Serializable or Snapshot: the level Khonsu runs the transaction at, which may be stronger than the level asked for (see <see cref="KhonsuConnection.BeginTransaction(IsolationLevel)"/>).</summary>
    public override IsolationLevel IsolationLevel { get; }

    /// <summary>
    /// Begun with <see cref="KhonsuConnection.BeginReadOnlyTransactionAsync(CancellationToken)"/>: a statement that
    /// writes fails with SqlState 25006 before it runs, and a write made anyway (by a function or a
    /// trigger) rolls the transaction back at commit, with the same SqlState.
    /// </summary>
    public bool IsReadOnly { get; }

    /// <summary>
    /// Begun with <c>BeginReadOnlyTransactionAsync(deferrable: true)</c> (PostgreSQL's
    /// <c>SERIALIZABLE READ ONLY DEFERRABLE</c>): read-only, on a safe snapshot taken on every
    /// backend at begin, so its commit never fails with 40001 (with the embedded log).
    /// </summary>
    public bool IsDeferrable { get; }

    /// <inheritdoc/>
    public override bool SupportsSavepoints => true;

    internal Engine.TransactionId Id { get; }

    /// <summary>Begun by Khonsu around one writing statement run with no transaction in progress (see <see cref="Routing.RouteDecision.RunsAsImplicitTransaction"/>).</summary>
    internal bool IsImplicit { get; }

    internal DateTimeOffset StartedAt { get; }

    internal bool IsCompleted => Completion.IsCompleted;

    internal KhonsuConnection Owner => _connection;

    internal TransactionParticipants Participants { get; } = new();

    internal TransactionEnlistment Enlistment { get; }

    internal ReadSet Reads { get; }

    internal BranchedTables Branches { get; } = new();

    internal TransactionSnapshots Snapshots { get; }

    internal TransactionRetry Retry { get; }

    internal TransactionCompletion Completion { get; }

    /// <summary>The statements it ran, per backend, as transaction_log shows them.</summary>
    internal OperationSummary Operation { get; } = new();

    /// <summary>Reads sent ahead of the application and held for it (connection-string key <c>Prefetch</c>); null when off, and in an implicit transaction.</summary>
    internal TransactionPrefetch? Prefetch { get; }

    /// <summary>The connection, until the transaction commits or rolls back; then null, as ADO.NET defines.</summary>
    protected override DbConnection? DbConnection => IsCompleted ? null : _connection;

    /// <summary>Commits atomically on every backend the transaction touched (certified, then committed in two phases with the decision in the commit log where one local commit is not enough). A serialization failure throws a <see cref="KhonsuException"/> with SqlState 40001.</summary>
    /// <remarks>
    /// The synchronous methods run the asynchronous ones' code with <c>async: false</c>: every
    /// participant and the commit log do their I/O with synchronous methods on the caller's thread,
    /// so the task waited on here has completed, and no thread-pool thread is needed.
    /// </remarks>
    public override void Commit() => Completion.CommitAsync(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Commit"/>
    public override Task CommitAsync(CancellationToken cancellationToken = default) => Completion.CommitAsync(async: true, cancellationToken);

    /// <inheritdoc cref="SaveAsync"/>
    public override void Save(string savepointName) => SavepointSaveAsync(savepointName, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="RollbackAsync(string, CancellationToken)"/>
    public override void Rollback(string savepointName) => SavepointRollbackAsync(savepointName, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Releases the savepoint on every backend the transaction has touched, keeping the work done since it.</summary>
    public override void Release(string savepointName) => SavepointReleaseAsync(savepointName, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>A savepoint on every backend the transaction has touched so far.</summary>
    public override Task SaveAsync(string savepointName, CancellationToken cancellationToken = default)
        => SavepointSaveAsync(savepointName, async: true, cancellationToken);

    /// <summary>
    /// Undoes everything since the savepoint: back to it on the backends touched before it, and
    /// entirely on backends first touched after it (their next statement begins afresh).
    /// </summary>
    public override Task RollbackAsync(string savepointName, CancellationToken cancellationToken = default)
        => SavepointRollbackAsync(savepointName, async: true, cancellationToken);

    /// <inheritdoc cref="Release"/>
    public override Task ReleaseAsync(string savepointName, CancellationToken cancellationToken = default)
        => SavepointReleaseAsync(savepointName, async: true, cancellationToken);

    /// <summary>Rolls back the local transaction on every backend the transaction touched.</summary>
    public override void Rollback() => Completion.RollbackAsync(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Rollback()"/>
    public override Task RollbackAsync(CancellationToken cancellationToken = default) => Completion.RollbackAsync(async: true, cancellationToken);

    /// <summary>Rolls back the transaction if it has not completed.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (!IsCompleted)
        {
            await RollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }

        Completion.IsDisposed = true;
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc cref="DisposeAsync"/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !IsCompleted)
        {
            Rollback();
        }

        Completion.IsDisposed = true;
        base.Dispose(disposing);
    }

    // A savepoint operation runs on every backend: prefetches in flight finish first, and a
    // rollback to a savepoint may undo what held results saw, so nothing stays held across one.
    private async Task SavepointSaveAsync(string savepointName, bool async, CancellationToken cancellationToken)
    {
        await DrainPrefetchesAsync(async).ConfigureAwait(false);
        await Active().SaveAsync(savepointName, async, cancellationToken).ConfigureAwait(false);
    }

    private async Task SavepointRollbackAsync(string savepointName, bool async, CancellationToken cancellationToken)
    {
        await DrainPrefetchesAsync(async).ConfigureAwait(false);
        await Active().RollbackToAsync(savepointName, Id, async, cancellationToken).ConfigureAwait(false);
    }

    private async Task SavepointReleaseAsync(string savepointName, bool async, CancellationToken cancellationToken)
    {
        await DrainPrefetchesAsync(async).ConfigureAwait(false);
        await Active().ReleaseAsync(savepointName, Id, async, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask DrainPrefetchesAsync(bool async) => Prefetch?.DrainAsync(dropAll: true, async) ?? ValueTask.CompletedTask;

    private TransactionParticipants Active()
    {
        Completion.EnsureActive();
        return Participants;
    }
}
