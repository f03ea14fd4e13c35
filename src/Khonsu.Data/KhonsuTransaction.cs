using System.Data;
using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;
using Khonsu.Data.Transactions;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Coordination;

namespace Khonsu.Data;

/// <summary>
/// A transaction across every backend it touches. Each backend's local transaction begins when a
/// statement first reaches that backend; commit is atomic across all of them.
/// </summary>
/// <remarks>
/// The ADO.NET facade: participants and savepoints, the read set, the snapshot positions and the
/// safe-snapshot protocol live in the internal types of <c>Khonsu.Data.Transactions</c>, which it delegates to.
/// </remarks>
public sealed class KhonsuTransaction : DbTransaction
{
    private readonly KhonsuConnection _connection;
    private readonly TransactionParticipants _participants = new();
    private readonly OperationSummary _operation = new();
    private readonly BranchedTables _branchedTables = new();
    private readonly ReadSet _reads;
    private readonly TransactionSnapshots _snapshots;
    private readonly Runtime.TransactionAges.Lease _age;
    private bool _completed;
    private bool _committed;
    private bool _failedTransiently;
    private bool _disposed;

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
        _age = connection.Runtime.Ages.Hold(age ?? Runtime.TransactionAges.Next());
        _reads = new ReadSet(isolationLevel == IsolationLevel.Serializable);
        _snapshots = new TransactionSnapshots(connection, IsReadOnly, IsDeferrable);
    }

    /// <summary>When it first began, kept across retries (see <see cref="Runtime.TransactionAges"/>): smaller is older.</summary>
    internal long Age => _age.Age;

    /// <summary>The transaction's id, as transaction_log shows it.</summary>
    public string TransactionId => Id.ToString();

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

    internal Engine.TransactionId Id { get; }

    /// <summary>Begun by Khonsu around one writing statement run with no transaction in progress (see <see cref="Routing.RouteDecision.RunsAsImplicitTransaction"/>).</summary>
    internal bool IsImplicit { get; }

    internal DateTimeOffset StartedAt { get; }

    internal bool IsCompleted => _completed;

    internal bool SpansSeveralBackends => _participants.Count > 1;

    private bool Serializable => IsolationLevel == IsolationLevel.Serializable;

    /// <summary>The connection, until the transaction commits or rolls back; then null, as ADO.NET defines.</summary>
    protected override DbConnection? DbConnection => _completed ? null : _connection;
    public override void Commit() => CommitAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        var runtime = _connection.Runtime;
        var commitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var info = _snapshots.CommitRequest(Id, StartedAt, _operation.ToString(), _participants.Count, _reads.Reads(_participants.RowReads), Serializable);
            await runtime.Coordinator.CommitAsync(info, _participants.All, cancellationToken).ConfigureAwait(false);
            _committed = true;
            _connection.Logger.Committed(TransactionId, _participants.Count, System.Diagnostics.Stopwatch.GetElapsedTime(commitStarted).TotalMilliseconds);
        }
        catch (Exception error) when (FailedTransiently(error))
        {
            throw; // not reached: the filter only notes the failure
        }
        catch (Exception error) when (CommitFailures.Translates(error))
        {
            throw CommitFailures.Translate(error, Id, _connection.Logger);
        }
        finally
        {
            Complete();
        }
    }

    public override bool SupportsSavepoints => true;

    public override void Save(string savepointName) => SaveAsync(savepointName, CancellationToken.None).GetAwaiter().GetResult();

    public override void Rollback(string savepointName) => RollbackAsync(savepointName, CancellationToken.None).GetAwaiter().GetResult();

    public override void Release(string savepointName) => ReleaseAsync(savepointName, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>A savepoint on every backend the transaction has touched so far.</summary>
    public override async Task SaveAsync(string savepointName, CancellationToken cancellationToken = default)
    {
        EnsureActive();
        await _participants.SaveAsync(savepointName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Undoes everything since the savepoint: back to it on the backends touched before it, and
    /// entirely on backends first touched after it (their next statement begins afresh).
    /// </summary>
    public override async Task RollbackAsync(string savepointName, CancellationToken cancellationToken = default)
    {
        EnsureActive();
        await _participants.RollbackToAsync(savepointName, Id, cancellationToken).ConfigureAwait(false);
    }

    public override async Task ReleaseAsync(string savepointName, CancellationToken cancellationToken = default)
    {
        EnsureActive();
        await _participants.ReleaseAsync(savepointName, Id, cancellationToken).ConfigureAwait(false);
    }

    public override void Rollback() => RollbackAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        try
        {
            await _connection.Runtime.Coordinator.RollbackAsync(_participants.All, Id, cancellationToken).ConfigureAwait(false);
            _connection.Logger.RolledBack(TransactionId, _participants.Count);
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
    internal async ValueTask RollBackQuietlyAsync()
    {
        if (_completed)
        {
            return;
        }

        try
        {
            await RollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (DbException)
        {
        }
        catch (InvalidOperationException)
        {
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_completed)
        {
            await RollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }

        _disposed = true;

        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_completed)
        {
            Rollback();
        }

        _disposed = true;

        base.Dispose(disposing);
    }

    /// <summary>Whether a statement of this transaction already ran on <paramref name="backend"/>.</summary>
    internal bool HasParticipantOn(KhonsuBackend backend) => _participants.HasOn(backend);

    /// <summary>The local transaction on a backend, begun on first use.</summary>
    internal async ValueTask<BackendTransaction> EnlistAsync(KhonsuBackend backend, DbConnection inner, CancellationToken cancellationToken)
    {
        EnsureActive();
        if (_participants.Find(backend) is { } participant)
        {
            return participant;
        }

        if (backend.BeginTakesSnapshot)
        {
            _snapshots.TakeOn(backend.Name);
        }

        var local = await backend.BeginTransactionAsync(inner, Id, LocalIsolation, cancellationToken).ConfigureAwait(false);
        var certifier = _connection.Runtime.Certifier;
        local.Context = new ParticipantContext(
            _connection.Runtime.Ages,
            Age,
            _connection.Runtime.Settings.LockTimeout,
            () => _participants.OthersMayHoldHiddenLocks(local),
            () => _snapshots.TakeOn(backend.Name),
            () => certifier.FinishedOn(Id, backend.Name));
        _participants.Add(local);
        _snapshots.ParticipantBegun();
        return local;
    }

    /// <summary>Takes a safe snapshot on every backend (see <see cref="SafeSnapshotProtocol"/>).</summary>
    internal Task TakeSafeSnapshotAsync(TimeSpan timeout, CancellationToken cancellationToken)
        => new SafeSnapshotProtocol(this, _connection, _snapshots, _participants).TakeAsync(timeout, cancellationToken);

    /// <summary>
    /// The level of the backends' local transactions. A deferrable transaction's safe snapshot needs
    /// no read tracking or validation of its own, unless a shared log certifies it all the same.
    /// </summary>
    private IsolationLevel LocalIsolation => IsDeferrable && _connection.Runtime.Coordinator.Certification.TrustsSafeSnapshots ? IsolationLevel.Snapshot : IsolationLevel;

    internal void Record(string backend, string sql) => _operation.Add(backend, sql);

    /// <summary>A write to one of the statement's tables was replaced on its backend's branch (see <see cref="BranchedTables"/>).</summary>
    internal void Branched(RouteDecision route) => _branchedTables.Add(route);

    /// <summary>Whether the write statement goes to its backend's Replace branch (see <see cref="Branched"/>).</summary>
    internal bool WritesOnBranch(RouteDecision route) => _branchedTables.WritesOnBranch(route);

    /// <summary>A statement ran: it waits on nothing any more, and its backend's snapshot is taken (see <see cref="TransactionSnapshots.StatementRan"/>).</summary>
    internal void StatementRan()
    {
        _connection.Runtime.Ages.HiddenWaitEnds(Age);
        _snapshots.StatementRan();
    }

    /// <summary>
    /// A statement or the commit failed with a transient error (a serialization failure, a bounded
    /// lock wait): if the transaction then ends without committing, the next one begun on the
    /// connection soon after is taken for its retry and keeps its age (see <see cref="KhonsuConnection"/>).
    /// </summary>
    internal void FailedTransiently() => _failedTransiently = true;

    /// <summary>For exception filters: notes a transient failure (see <see cref="FailedTransiently()"/>) and never catches.</summary>
    internal bool FailedTransiently(Exception error)
    {
        if (error is DbException { IsTransient: true } or SerializationConflictException or TransactionAbortedException)
        {
            _failedTransiently = true;
        }

        return false;
    }

    /// <summary>A statement ended without running (it failed): it waits on nothing any more.</summary>
    internal void StatementEnded() => _connection.Runtime.Ages.HiddenWaitEnds(Age);

    /// <summary>A result set of the statement was read (see <see cref="ReadSet.RecordTableReads"/>).</summary>
    internal void RecordTableReads(RouteDecision route, IReadOnlyCollection<string> readByRow) => _reads.RecordTableReads(route, readByRow);

    /// <summary>A writing statement ran (see <see cref="ReadSet.RecordWriteReads"/>).</summary>
    internal void RecordWriteReads(RouteDecision route, int? recordsAffected) => _reads.RecordWriteReads(route, recordsAffected);

    private void EnsureActive()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("This transaction has completed; it is no longer usable.");
        }
    }

    private void Complete()
    {
        _completed = true;
        _age.Dispose();
        _connection.TransactionEnded(Age, retried: _failedTransiently && !_committed);
        _snapshots.Release();
        if (_connection.CurrentTransaction == this)
        {
            _connection.CurrentTransaction = null;
        }
    }
}
