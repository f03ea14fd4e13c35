using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Log;

namespace Khonsu.Data.Transactions;

/// <summary>
/// Where a transaction's snapshots stand, in the certifier's order, on each backend, and in a
/// shared log: certification needs them to tell which commits it saw and which ran concurrently,
/// so they go into the commit request (see <see cref="CommitRequest"/>).
/// </summary>
/// <remarks>The runtime is read through the connection on each use, as the transaction did.</remarks>
internal sealed class TransactionSnapshots(KhonsuConnection connection, bool readOnly, bool deferrable)
{
    private readonly Dictionary<string, CertificationSequence> _backendSnapshots = new(StringComparer.OrdinalIgnoreCase);
    private CertificationSequence? _snapshot;
    private LogPosition? _logSnapshot;
    private CertificationSequence? _snapshotsTakenBy;
    private bool _snapshotPending;

    /// <summary>
    /// A backend is about to take the transaction's snapshot there. The first one also fixes the
    /// certifier's snapshot position: any commit not finished everywhere by then counts as concurrent.
    /// Each one records what it certainly sees on its own backend (every commit finished there by
    /// now), which a transaction that queued for a write lock behind a committing one needs: it saw
    /// that one's writes there, and must not conflict with them.
    /// </summary>
    public void TakeOn(string backend)
    {
        var certifier = connection.Runtime.Certifier;
        if (_snapshot is null)
        {
            _snapshot = certifier.TakeSnapshot(mayWrite: !readOnly);
            TakeLogSnapshot();
        }

        if (!_backendSnapshots.ContainsKey(backend))
        {
            // A safe snapshot is one cut at its position on every backend.
            _backendSnapshots[backend] = deferrable ? _snapshot.Value : certifier.BackendWatermark(backend);
        }
    }

    /// <summary>A participant was begun: its snapshot is taken by its first statement, not yet.</summary>
    public void ParticipantBegun() => _snapshotPending = true;

    /// <summary>
    /// A statement ran: if it was the first on a backend, that backend's snapshot is taken by now.
    /// Whatever is certified later began committing after it, so cannot be half visible.
    /// </summary>
    public void StatementRan()
    {
        if (_snapshotPending)
        {
            _snapshotsTakenBy = connection.Runtime.Certifier.LastCertified;
            _snapshotPending = false;
        }
    }

    /// <summary>
    /// A statement ran off the application's flow (a prefetch), possibly the first on its backend,
    /// possibly after the application's statements elsewhere marked the snapshots taken: whatever
    /// is certified from now on began committing after every snapshot so far.
    /// </summary>
    /// <remarks>A participant still pending keeps its mark: its own first statement moves the bound later again.</remarks>
    public void StatementRanOffFlow() => _snapshotsTakenBy = connection.Runtime.Certifier.LastCertified;

    /// <summary>What the coordinator certifies and commits: the positions, with the transaction's reads.</summary>
    public TransactionInfo CommitRequest(TransactionId id, DateTimeOffset startedAt, string operation, int participants, IReadOnlyCollection<ItemId> reads, bool serializable)
    {
        var runtime = connection.Runtime;
        // A statement that ran around Khonsu's command path (EF Core's) leaves it pending: now is the safe bound.
        var visibleUpTo = _snapshot is null ? (CertificationSequence?)null : _snapshotPending ? runtime.Certifier.LastCertified : _snapshotsTakenBy;
        return new TransactionInfo(id, startedAt, operation)
        {
            Snapshot = _snapshot,
            BackendSnapshots = _backendSnapshots.Count == 0 ? null : new Dictionary<string, CertificationSequence>(_backendSnapshots, StringComparer.OrdinalIgnoreCase),
            LogSnapshot = _logSnapshot,
            SnapshotsTakenBy = participants < 2 ? null : visibleUpTo,
            VisibleUpTo = visibleUpTo,
            Reads = reads,
            Serializable = serializable,
            ReadOnly = readOnly,
            SafeSnapshot = deferrable,
            LastWriterWinsTables = runtime.ConflictPolicies.LastWriterWinsTables,
        };
    }

    /// <summary>A safe-snapshot candidate: its position is the transaction's, on every backend.</summary>
    public void BeginCut(CertificationSequence position)
    {
        _snapshot = position;
        TakeLogSnapshot();
    }

    /// <summary>The candidate proved safe: every backend took its snapshot by its position.</summary>
    public void KeepCut(CertificationSequence position) => (_snapshotsTakenBy, _snapshotPending) = (position, false);

    /// <summary>The candidate was unsafe; the certifier already let go of its position.</summary>
    public void DropCut()
    {
        _snapshot = null;
        _backendSnapshots.Clear();
    }

    /// <summary>The transaction ended: its snapshot no longer holds back the certifier's history.</summary>
    public void Release()
    {
        if (_snapshot is { } snapshot)
        {
            connection.Runtime.Certifier.ReleaseSnapshot(snapshot, mayWrite: !readOnly);
            _snapshot = null;
        }
    }

    /// <summary>A log shared by several processes certifies in its own order, from its own watermark.</summary>
    private void TakeLogSnapshot() => _logSnapshot = connection.Runtime.Coordinator.Certification.TakeLogSnapshot();
}
