namespace Khonsu.Engine.Certification;

/// <summary>
/// Orders and certifies the transactions of one process that commit through the embedded log,
/// and hands out snapshot positions. A transaction's position is its place in certification
/// order; its snapshot is the <em>finished</em> watermark when it began: every transaction at or
/// below it had finished on every backend (its writes visible everywhere), so the certifier
/// may treat it as seen. Anything certified later counts as concurrent, which can only add
/// conflicts, never hide one. Commit records reach the log before participants finish, so "the
/// last position certified" would not be a safe snapshot.
/// </summary>
internal sealed class CommitCertifier : ICertifierMemory
{
    private readonly Lock _lock = new();
    private readonly SsiCertifier _ssi;
    private readonly SortedSet<long> _unfinished = [];
    private readonly Dictionary<TransactionId, Unfinished> _positions = [];
    // Per backend, the positions of writers that have not yet committed there (their writes there
    // may not be visible yet): each backend's own watermark, see BackendWatermark.
    private readonly Dictionary<string, SortedSet<long>> _unfinishedOn = new(StringComparer.OrdinalIgnoreCase);
    // Committed transactions that could not finish on some backend and wait for recovery (in doubt):
    // out of every watermark, so that they hold up no one, and met conservatively (see CertifyHeld).
    private readonly Dictionary<TransactionId, CommittedTransaction> _inDoubt = [];
    private readonly HeldSnapshots _activeSnapshots = new();
    private readonly SafeSnapshotGate _safe = new();
    private long _last;

    public CommitCertifier(int capacity = 10_000)
    {
        _ssi = new SsiCertifier(capacity);
        Diagnostics.KhonsuTelemetry.Track(this);
    }

    /// <summary>Transactions remembered in full (for tests and metrics).</summary>
    public int RememberedTransactions
    {
        get
        {
            lock (_lock)
            {
                return _ssi.RememberedTransactions;
            }
        }
    }

    /// <summary>The last position certified so far (see <see cref="CertificationRequest.SnapshotsTakenBy"/>).</summary>
    public CertificationSequence LastCertified
    {
        get
        {
            lock (_lock)
            {
                return new CertificationSequence(_last);
            }
        }
    }

    /// <summary>Read and written items of the transactions remembered in full (the certifier's memory, for metrics).</summary>
    public long RememberedItems
    {
        get
        {
            lock (_lock)
            {
                return _ssi.RememberedItems;
            }
        }
    }

    /// <summary>Deferrable read-only transactions waiting for a safe snapshot (for tests).</summary>
    internal int SafeSnapshotCandidates
    {
        get
        {
            lock (_lock)
            {
                return _safe.Candidates;
            }
        }
    }

    /// <summary>Called when a candidate starts waiting for concurrent writers to end; tests synchronise on it.</summary>
    internal Action<SafeSnapshot>? WaitingForSafeSnapshot { get; set; }

    /// <summary>
    /// Takes a snapshot position for a transaction about to read its first backend. Call
    /// <see cref="ReleaseSnapshot"/> when it ends, so that history it can no longer need is forgotten.
    /// </summary>
    /// <param name="mayWrite">False for a transaction declared read-only: deferrable transactions need not wait for it.</param>
    public CertificationSequence TakeSnapshot(bool mayWrite = true)
    {
        lock (_lock)
        {
            var snapshot = Watermark();
            _activeSnapshots.Hold(snapshot);
            if (mayWrite)
            {
                _safe.WritableSnapshotTaken(snapshot);
            }

            return new CertificationSequence(snapshot);
        }
    }

    /// <summary>
    /// The position up to which every certified writer has committed on <paramref name="backend"/>
    /// (or wrote nothing there): what a local transaction whose snapshot the backend takes now
    /// certainly sees there. Never below <see cref="TakeSnapshot"/>'s watermark, often above it: a
    /// writer still committing elsewhere, or one left in doubt on another backend, holds up only the
    /// backends it has not finished on.
    /// </summary>
    public CertificationSequence BackendWatermark(string backend)
    {
        lock (_lock)
        {
            return new CertificationSequence(_unfinishedOn.TryGetValue(backend, out var unfinished) && unfinished.Count > 0 ? unfinished.Min - 1 : _last);
        }
    }

    /// <summary>Transactions left in doubt on some backend (committed, waiting for recovery to finish them there).</summary>
    public int InDoubtTransactions
    {
        get
        {
            lock (_lock)
            {
                return _inDoubt.Count;
            }
        }
    }

    /// <param name="snapshot">What <see cref="TakeSnapshot"/> or <see cref="SafeSnapshot.Position"/> gave.</param>
    /// <param name="mayWrite">As given to <see cref="TakeSnapshot"/>; false for a safe snapshot.</param>
    public void ReleaseSnapshot(CertificationSequence snapshot, bool mayWrite = true)
    {
        lock (_lock)
        {
            if (mayWrite)
            {
                _safe.WritableSnapshotReleased(snapshot.Value);
            }

            if (_activeSnapshots.Release(snapshot.Value))
            {
                ForgetUnneeded();
            }
        }
    }

    /// <summary>
    /// Closes the gate to new writers (<see cref="CertifyAsync"/> waits), waits until no writer is
    /// between certification and finish, then opens a safe snapshot candidate at the last position
    /// certified (see <see cref="SafeSnapshot"/>), holding it as a snapshot. The caller takes its
    /// snapshot on every backend, calls <see cref="CutTaken"/> (which opens the gate again), awaits
    /// <see cref="AwaitSafeAsync"/>, and always ends with <see cref="CloseSafeSnapshot"/>. The gate
    /// is what lets a candidate open under writers that never pause: it holds new writers only for
    /// the time the writers already certified take to finish and the backend snapshots take.
    /// </summary>
    public async ValueTask<SafeSnapshot> OpenSafeSnapshotAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _safe.Close();
        }

        try
        {
            while (true)
            {
                Task? quiet;
                lock (_lock)
                {
                    if (_safe.TryOpen(new CertificationSequence(_last), out quiet) is { } candidate)
                    {
                        _activeSnapshots.Hold(_last);
                        return candidate;
                    }
                }

                await quiet!.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            lock (_lock)
            {
                _safe.Open();
            }

            throw;
        }
    }

    /// <summary>
    /// The caller has taken the candidate's snapshot on every backend: writers may be certified
    /// again. True when none was certified since the candidate opened (the snapshots form one cut);
    /// false when one was (a writer certified with <see cref="Certify"/>, which does not wait at the
    /// gate, may have landed between two of them): take another.
    /// </summary>
    public bool CutTaken(SafeSnapshot candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        lock (_lock)
        {
            return _safe.CutTaken(candidate);
        }
    }

    /// <summary>
    /// <see cref="Certify"/>, once no safe snapshot candidate is taking its backend snapshots
    /// (see <see cref="OpenSafeSnapshotAsync"/>); read-only transactions never wait.
    /// </summary>
    /// <param name="async">False for a synchronous commit: the wait at a closed gate blocks the caller's thread instead of needing a thread-pool thread to resume it.</param>
    public async ValueTask<CertificationResult> CertifyAsync(CertificationRequest request, bool serializable, bool async, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        while (true)
        {
            Task? gate;
            lock (_lock)
            {
                gate = _safe.Closed;
                if (gate is null || request.ReadOnly)
                {
                    return CertifyHeld(request, serializable);
                }
            }

            if (async)
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                gate.Wait(cancellationToken); // the gate only ever completes successfully
            }
        }
    }

    /// <summary>
    /// Waits until every writer that held an older snapshot when the candidate opened has ended;
    /// true if none committed with an rw-antidependency to a transaction the candidate sees (safe),
    /// false as soon as one did (take another).
    /// </summary>
    public async ValueTask<bool> AwaitSafeAsync(SafeSnapshot candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (!candidate.Settled.Task.IsCompleted)
        {
            WaitingForSafeSnapshot?.Invoke(candidate);
        }

        await candidate.Settled.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            return !candidate.Unsafe;
        }
    }

    /// <summary>
    /// Stops following the candidate. Unless <paramref name="keepSnapshot"/>, its snapshot is released
    /// too; a transaction that keeps it releases it when it ends, with <c>mayWrite: false</c>.
    /// </summary>
    public void CloseSafeSnapshot(SafeSnapshot candidate, bool keepSnapshot)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        lock (_lock)
        {
            if (_safe.Close(candidate) && !keepSnapshot && _activeSnapshots.Release(candidate.Position.Value))
            {
                ForgetUnneeded();
            }
        }
    }

    /// <summary>
    /// Certifies a transaction that has prepared everywhere. When it may commit it counts as
    /// committed for everything certified after it, until <see cref="Finished"/> says its writes are
    /// visible everywhere (or that it aborted after all: counting it anyway only adds conflicts).
    /// </summary>
    public CertificationResult Certify(CertificationRequest request, bool serializable)
    {
        lock (_lock)
        {
            return CertifyHeld(request, serializable);
        }
    }

    private CertificationResult CertifyHeld(CertificationRequest request, bool serializable)
    {
        if (_inDoubt.Count > 0 && TouchesInDoubt(request) is { } refusal)
        {
            return refusal;
        }

        var position = ++_last;
        var verdict = _ssi.Certify(request, new CertificationSequence(position), serializable);
        if (verdict.Commit)
        {
            var writes = request.Writes.Count == 0 ? [] : request.Writes.ToHashSet();
            var backends = writes.Select(item => item.Backend).ToHashSet(StringComparer.OrdinalIgnoreCase);
            _unfinished.Add(position);
            _positions[request.TransactionId] = new Unfinished(position, writes, backends);
            foreach (var backend in backends)
            {
                if (!_unfinishedOn.TryGetValue(backend, out var unfinished))
                {
                    _unfinishedOn[backend] = unfinished = [];
                }

                unfinished.Add(position);
            }

            if (!request.ReadOnly)
            {
                _safe.WriterCertified(request.TransactionId, verdict);
            }
        }

        return verdict;
    }

    /// <summary>
    /// A transaction in doubt committed, but its writes on the backends it did not finish on are
    /// not there yet (recovery will redo or commit them, guarded by the rows' versions): reading one
    /// of those rows reads a version its commit already replaced, and writing one would make its redo
    /// fail. Either is refused while it is in doubt; everything else goes on.
    /// </summary>
    private CertificationResult? TouchesInDoubt(CertificationRequest request)
    {
        foreach (var stuck in _inDoubt.Values)
        {
            foreach (var item in request.Reads.Concat(request.Writes))
            {
                if (SsiCertifier.Overlaps(item, stuck))
                {
                    return new CertificationResult(
                        false,
                        $"{item} was written by {stuck.Id}, which committed but is in doubt on backend '{item.Backend}' until recovery finishes it there",
                        item,
                        stuck.Id);
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The transaction committed on <paramref name="backend"/>: its writes there are visible to
    /// snapshots taken from now on (see <see cref="BackendWatermark"/>). Call as soon as the
    /// backend's commit returned, before anything that lets another transaction in (a write lock
    /// given back). Unknown ids are ignored.
    /// </summary>
    public void FinishedOn(TransactionId transactionId, string backend)
    {
        lock (_lock)
        {
            if (_positions.TryGetValue(transactionId, out var unfinished) && _unfinishedOn.TryGetValue(backend, out var positions))
            {
                positions.Remove(unfinished.Position);
            }
        }
    }

    /// <summary>
    /// The transaction committed but could not finish on <paramref name="backends"/>; recovery will
    /// (and then calls <see cref="Finished"/>). Until then it holds up no watermark, global or per
    /// backend, and transactions that read or write what it wrote there are refused (see
    /// <see cref="TouchesInDoubt"/>): one stuck transaction must not stop the others.
    /// </summary>
    public void InDoubt(TransactionId transactionId, IEnumerable<string> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        lock (_lock)
        {
            if (!_positions.Remove(transactionId, out var unfinished))
            {
                return;
            }

            var stuckOn = backends.ToHashSet(StringComparer.OrdinalIgnoreCase);
            var stuckWrites = unfinished.Writes.Where(item => stuckOn.Contains(item.Backend)).ToHashSet();
            if (stuckWrites.Count > 0)
            {
                _inDoubt[transactionId] = new CommittedTransaction(transactionId, new CertificationSequence(unfinished.Position), CertificationSequence.Start, [], stuckWrites);
            }

            Forget(transactionId, unfinished);
        }
    }

    /// <summary>The transaction finished on every backend (or will never commit). Unknown ids are ignored.</summary>
    public void Finished(TransactionId transactionId)
    {
        lock (_lock)
        {
            _inDoubt.Remove(transactionId);
            if (_positions.Remove(transactionId, out var unfinished))
            {
                Forget(transactionId, unfinished);
            }
            else
            {
                _safe.WriterDone(transactionId);
            }
        }
    }

    /// <summary>The transaction no longer holds up any watermark.</summary>
    private void Forget(TransactionId transactionId, Unfinished unfinished)
    {
        _unfinished.Remove(unfinished.Position);
        foreach (var backend in unfinished.Backends)
        {
            _unfinishedOn[backend].Remove(unfinished.Position);
        }

        ForgetUnneeded();
        _safe.WriterDone(transactionId);
    }

    /// <summary>A certified transaction not yet finished everywhere: where it sits, what it wrote, where.</summary>
    private sealed record Unfinished(long Position, HashSet<ItemId> Writes, HashSet<string> Backends);

    private long Watermark() => _unfinished.Count == 0 ? _last : _unfinished.Min - 1;

    /// <summary>Committed transactions at or below every live and future snapshot are never concurrent with anything again.</summary>
    private void ForgetUnneeded()
    {
        var oldestNeeded = _activeSnapshots.IsEmpty ? Watermark() : Math.Min(_activeSnapshots.Oldest, Watermark());
        _ssi.Forget(new CertificationSequence(oldestNeeded));
    }
}
