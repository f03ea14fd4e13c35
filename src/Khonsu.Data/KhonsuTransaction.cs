using System.Data;
using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;
using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Diagnostics;
using Khonsu.Engine.Log;

namespace Khonsu.Data;

/// <summary>
/// A transaction across every backend it touches. Each backend's local transaction begins when a
/// statement first reaches that backend; commit is atomic across all of them.
/// </summary>
public sealed class KhonsuTransaction : DbTransaction
{
    private readonly KhonsuConnection _connection;
    private readonly List<BackendTransaction> _participants = [];
    private readonly OperationSummary _operation = new();
    private readonly List<(string Name, int Participants)> _savepoints = [];
    private readonly HashSet<ItemId> _tableReads = [];
    private readonly HashSet<ItemId> _branchedTables = [];
    private readonly Dictionary<string, CertificationSequence> _backendSnapshots = new(StringComparer.OrdinalIgnoreCase);
    private readonly Runtime.TransactionAges.Lease _age;
    private CertificationSequence? _snapshot;
    private LogPosition? _logSnapshot;
    private CertificationSequence? _snapshotsTakenBy;
    private bool _snapshotPending;
    private bool _completed;
    private bool _committed;
    private bool _failedTransiently;

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

    protected override DbConnection DbConnection => _connection;

    public override void Commit() => CommitAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        var runtime = _connection.Runtime;
        var commitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            // A statement that ran around Khonsu's command path (EF Core's) leaves it pending: now is the safe bound.
            var visibleUpTo = _snapshot is null ? (CertificationSequence?)null : _snapshotPending ? runtime.Certifier.LastCertified : _snapshotsTakenBy;
            var info = new TransactionInfo(Id, StartedAt, _operation.ToString())
            {
                Snapshot = _snapshot,
                BackendSnapshots = _backendSnapshots.Count == 0 ? null : new Dictionary<string, CertificationSequence>(_backendSnapshots, StringComparer.OrdinalIgnoreCase),
                LogSnapshot = _logSnapshot,
                SnapshotsTakenBy = _participants.Count < 2 ? null : visibleUpTo,
                VisibleUpTo = visibleUpTo,
                Reads = Serializable ? [.. _tableReads, .. _participants.SelectMany(p => p.RowReads)] : [],
                Serializable = Serializable,
                ReadOnly = IsReadOnly,
                SafeSnapshot = IsDeferrable,
                LastWriterWinsTables = runtime.ConflictPolicies.LastWriterWinsTables,
            };
            await runtime.Coordinator.CommitAsync(info, _participants, cancellationToken).ConfigureAwait(false);
            _committed = true;
            _connection.Logger.Committed(TransactionId, _participants.Count, System.Diagnostics.Stopwatch.GetElapsedTime(commitStarted).TotalMilliseconds);
        }
        catch (Exception error) when (FailedTransiently(error))
        {
            throw; // not reached: the filter only notes the failure
        }
        catch (SerializationConflictException conflict)
        {
            _connection.Logger.Aborted(TransactionId, conflict.Message);
            throw KhonsuException.SerializationFailure(
                $"Transaction {Id} was rolled back on every backend: {conflict.Message}", Id, conflict);
        }
        catch (ReadOnlyViolationException violation)
        {
            _connection.Logger.Aborted(TransactionId, violation.Message);
            throw KhonsuException.ReadOnlyViolation(violation.Message, Id, violation);
        }
        catch (TransactionAbortedException aborted)
        {
            _connection.Logger.Aborted(TransactionId, aborted.Reason);
            throw KhonsuException.SerializationFailure(aborted.Message, Id, aborted);
        }
        catch (CommitOutcomeUnknownException unknown)
        {
            _connection.Logger.OutcomeUnknown(TransactionId, unknown.Message);
            throw KhonsuException.OutcomeUnknown(unknown.Message, Id, unknown);
        }
        catch (Engine.Log.CommitLogUnavailableException unavailable)
        {
            // The log refused or timed out and the abort record settled it: rolled back, safe to retry.
            throw KhonsuException.LogUnavailable($"Transaction {Id} was rolled back: {unavailable.Message}", Id, unavailable);
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
        foreach (var participant in _participants)
        {
            await participant.SaveAsync(savepointName, cancellationToken).ConfigureAwait(false);
        }

        _savepoints.Add((savepointName, _participants.Count));
    }

    /// <summary>
    /// Undoes everything since the savepoint: back to it on the backends touched before it, and
    /// entirely on backends first touched after it (their next statement begins afresh).
    /// </summary>
    public override async Task RollbackAsync(string savepointName, CancellationToken cancellationToken = default)
    {
        EnsureActive();
        var index = FindSavepoint(savepointName);
        var touchedBefore = _savepoints[index].Participants;
        for (var i = 0; i < touchedBefore; i++)
        {
            await _participants[i].RollbackToAsync(savepointName, cancellationToken).ConfigureAwait(false);
        }

        for (var i = _participants.Count - 1; i >= touchedBefore; i--)
        {
            await _participants[i].RollbackAsync(Id, cancellationToken).ConfigureAwait(false);
            _participants.RemoveAt(i);
        }

        _savepoints.RemoveRange(index + 1, _savepoints.Count - index - 1);
    }

    public override async Task ReleaseAsync(string savepointName, CancellationToken cancellationToken = default)
    {
        EnsureActive();
        var index = FindSavepoint(savepointName);
        for (var i = 0; i < _savepoints[index].Participants; i++)
        {
            await _participants[i].ReleaseAsync(savepointName, cancellationToken).ConfigureAwait(false);
        }

        _savepoints.RemoveRange(index, _savepoints.Count - index);
    }

    public override void Rollback() => RollbackAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        try
        {
            await _connection.Runtime.Coordinator.RollbackAsync(_participants, Id, cancellationToken).ConfigureAwait(false);
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

        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_completed)
        {
            Rollback();
        }

        base.Dispose(disposing);
    }

    /// <summary>Whether a statement of this transaction already ran on <paramref name="backend"/>.</summary>
    internal bool HasParticipantOn(KhonsuBackend backend) => _participants.Exists(p => p.Backend == backend);

    /// <summary>The local transaction on a backend, begun on first use.</summary>
    internal async ValueTask<BackendTransaction> EnlistAsync(KhonsuBackend backend, DbConnection inner, CancellationToken cancellationToken)
    {
        EnsureActive();
        foreach (var participant in _participants)
        {
            if (participant.Backend == backend)
            {
                return participant;
            }
        }

        if (backend.BeginTakesSnapshot)
        {
            TakeBackendSnapshot(backend.Name);
        }

        var local = await backend.BeginTransactionAsync(inner, Id, LocalIsolation, cancellationToken).ConfigureAwait(false);
        var certifier = _connection.Runtime.Certifier;
        local.Context = new ParticipantContext(
            _connection.Runtime.Ages,
            Age,
            _connection.Runtime.Settings.LockTimeout,
            () => _participants.Exists(other => other != local && other.MayHoldHiddenLocks),
            () => TakeBackendSnapshot(backend.Name),
            () => certifier.FinishedOn(Id, backend.Name));
        _participants.Add(local);
        _snapshotPending = true;
        return local;
    }

    /// <summary>
    /// A backend is about to take the transaction's snapshot there. The first one also fixes the
    /// certifier's snapshot position: any commit not finished everywhere by then counts as concurrent.
    /// Each one records what it certainly sees on its own backend (every commit finished there by
    /// now), which a transaction that queued for a write lock behind a committing one needs: it saw
    /// that one's writes there, and must not conflict with them.
    /// </summary>
    private void TakeBackendSnapshot(string backend)
    {
        var certifier = _connection.Runtime.Certifier;
        if (_snapshot is null)
        {
            _snapshot = certifier.TakeSnapshot(mayWrite: !IsReadOnly);
            TakeLogSnapshot();
        }

        if (!_backendSnapshots.ContainsKey(backend))
        {
            // A safe snapshot is one cut at its position on every backend.
            _backendSnapshots[backend] = IsDeferrable ? _snapshot.Value : certifier.BackendWatermark(backend);
        }
    }

    /// <summary>
    /// Waits for a safe snapshot (see <see cref="SafeSnapshot"/>) and takes it on every backend of
    /// the connection string: at a moment no writer of this process is committing, then checked that
    /// none began to while the backends took theirs (so they are one cut), then kept once every
    /// writer that could be concurrent with it has ended without making it unsafe. Otherwise the
    /// local transactions roll back and it tries again, until <paramref name="timeout"/>.
    /// </summary>
    internal async Task TakeSafeSnapshotAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var runtime = _connection.Runtime;
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
                inner.Add((backend, await _connection.GetInnerConnectionAsync(backend, deadline.Token).ConfigureAwait(false)));
            }

            while (!await TrySafeSnapshotAsync(inner, deadline.Token).ConfigureAwait(false))
            {
                KhonsuTelemetry.SafeSnapshotRetries.Add(1);
            }

            outcome = "safe";
        }
        catch (OperationCanceledException cancelled) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            outcome = "timeout";
            throw KhonsuException.SafeSnapshotTimeout(
                $"Transaction {Id} found no safe snapshot within {timeout.TotalSeconds:0.###} s (key 'SafeSnapshotTimeout'): read-write transactions that began before it were still running, or writers kept committing.",
                Id,
                cancelled);
        }
        finally
        {
            KhonsuTelemetry.SafeSnapshotWait.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("khonsu.outcome", outcome));
        }
    }

    private async Task<bool> TrySafeSnapshotAsync(List<(KhonsuBackend Backend, DbConnection Connection)> inner, CancellationToken cancellationToken)
    {
        var certifier = _connection.Runtime.Certifier;
        var candidate = await certifier.OpenSafeSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var safe = false;
        try
        {
            _snapshot = candidate.Position;
            TakeLogSnapshot();
            foreach (var (backend, connection) in inner)
            {
                var local = await EnlistAsync(backend, connection, cancellationToken).ConfigureAwait(false);
                await local.TakeSnapshotAsync(cancellationToken).ConfigureAwait(false);
            }

            safe = certifier.CutTaken(candidate) && await certifier.AwaitSafeAsync(candidate, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            certifier.CloseSafeSnapshot(candidate, keepSnapshot: safe);
            if (safe)
            {
                (_snapshotsTakenBy, _snapshotPending) = (candidate.Position, false);
            }
            else
            {
                _snapshot = null;
                _backendSnapshots.Clear();
                await _connection.Runtime.Coordinator.RollbackAsync(_participants, Id, CancellationToken.None).ConfigureAwait(false);
                _participants.Clear();
            }
        }

        return safe;
    }

    /// <summary>A log shared by several processes certifies in its own order, from its own watermark.</summary>
    private void TakeLogSnapshot() => _logSnapshot = _connection.Runtime.Coordinator.Certification.TakeLogSnapshot();

    /// <summary>
    /// The level of the backends' local transactions. A deferrable transaction's safe snapshot needs
    /// no read tracking or validation of its own, unless a shared log certifies it all the same.
    /// </summary>
    private IsolationLevel LocalIsolation => IsDeferrable && _connection.Runtime.Coordinator.Certification.TrustsSafeSnapshots ? IsolationLevel.Snapshot : IsolationLevel;

    internal void Record(string backend, string sql) => _operation.Add(backend, sql);

    /// <summary>
    /// A write to one of the statement's tables was replaced on its backend's branch: later writes
    /// to them go there too, or they would wait on the branch's row locks.
    /// </summary>
    internal void Branched(RouteDecision route)
    {
        foreach (var table in route.Tables)
        {
            _branchedTables.Add(ItemId.Of(route.Backend.Name, table));
        }
    }

    /// <summary>Whether the write statement goes to its backend's Replace branch (see <see cref="Branched"/>).</summary>
    internal bool WritesOnBranch(RouteDecision route)
        => route.Writes && _branchedTables.Count > 0 && route.Tables.Any(table => _branchedTables.Contains(ItemId.Of(route.Backend.Name, table)));

    /// <summary>
    /// A statement ran: if it was the first on a backend, that backend's snapshot is taken by now.
    /// Whatever is certified later began committing after it, so cannot be half visible.
    /// </summary>
    internal void StatementRan()
    {
        _connection.Runtime.Ages.HiddenWaitEnds(Age);
        if (_snapshotPending)
        {
            _snapshotsTakenBy = _connection.Runtime.Certifier.LastCertified;
            _snapshotPending = false;
        }
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

    /// <summary>
    /// A result set of the statement was read. Its rows, read one by one, cover only a point
    /// lookup's read (<see cref="RouteDecision.PointKeys"/>): any other statement may match rows a
    /// concurrent transaction inserts, so it reads each of its tables whole, as do tables whose
    /// rows the result did not carry one by one (an aggregate, a projection without the key, an
    /// empty result). A point write's result is rows it wrote (see <see cref="RecordWriteReads"/>).
    /// </summary>
    internal void RecordTableReads(RouteDecision route, IReadOnlyCollection<string> readByRow)
    {
        if (Serializable && !(route.Writes && route.PointKeys is not null))
        {
            RecordWholeTables(route, route.PointKeys is null ? [] : readByRow);
        }
    }

    /// <summary>
    /// A writing statement ran, <paramref name="recordsAffected"/> rows (null: unknown). Its WHERE
    /// (and any query it holds) read each of its tables whole, even when it returned nothing,
    /// unless it is a point write that found every key: the captured writes of those rows cover it.
    /// </summary>
    internal void RecordWriteReads(RouteDecision route, int? recordsAffected)
    {
        if (Serializable && route.Writes && !(route.PointKeys is { } keys && recordsAffected >= keys))
        {
            RecordWholeTables(route, []);
        }
    }

    private void RecordWholeTables(RouteDecision route, IReadOnlyCollection<string> exceptReadByRow)
    {
        var backend = route.Backend.Name;
        foreach (var table in route.ReadTables)
        {
            if (!exceptReadByRow.Contains(table, StringComparer.OrdinalIgnoreCase))
            {
                _tableReads.Add(ItemId.Of(backend, table));
            }
        }

        if (route.ReadsUnknownRelations)
        {
            _tableReads.Add(ItemId.AnyTableOf(backend));
        }
    }

    private int FindSavepoint(string name)
    {
        var index = _savepoints.FindLastIndex(s => s.Name == name);
        return index >= 0 ? index : throw new InvalidOperationException($"Transaction {Id} has no savepoint named '{name}'.");
    }

    private void EnsureActive()
    {
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
        if (_snapshot is { } snapshot)
        {
            _connection.Runtime.Certifier.ReleaseSnapshot(snapshot, mayWrite: !IsReadOnly);
            _snapshot = null;
        }

        if (_connection.CurrentTransaction == this)
        {
            _connection.CurrentTransaction = null;
        }
    }
}
