namespace Khonsu.Engine.Certification;

/// <summary>
/// What <see cref="CommitCertifier"/> keeps for safe snapshots (PostgreSQL's GetSafeSnapshot; see
/// <see cref="SafeSnapshot"/>): the gate that holds writers back while a candidate takes its
/// snapshot on every backend, the writers between certification and finish (their commits may be
/// landing on the backends), the snapshots of transactions that may write, and the candidates
/// waiting for those to end. Not thread-safe: the certifier calls it under its own lock, and awaits
/// the tasks it hands out outside that lock.
/// </summary>
internal sealed class SafeSnapshotGate
{
    private readonly HeldSnapshots _writableSnapshots = new();
    private readonly HashSet<TransactionId> _writersCommitting = [];
    private readonly List<SafeSnapshot> _candidates = [];
    private TaskCompletionSource? _quiet;
    // Closed while candidates take their backend snapshots: writers wait to be certified.
    private TaskCompletionSource? _gate;
    private int _holders;
    private long _writersCertified;

    /// <summary>Candidates still followed (opened and not closed).</summary>
    public int Candidates => _candidates.Count;

    /// <summary>What a writer waits for before it is certified; null while the gate is open.</summary>
    public Task? Closed => _gate?.Task;

    /// <summary>A transaction that may write took a snapshot: candidates opened after it wait for it to end.</summary>
    public void WritableSnapshotTaken(long snapshot) => _writableSnapshots.Hold(snapshot);

    public void WritableSnapshotReleased(long snapshot)
    {
        if (_writableSnapshots.Release(snapshot))
        {
            foreach (var candidate in _candidates)
            {
                if (!_writableSnapshots.AnyBefore(candidate.Position.Value))
                {
                    candidate.Settled.TrySetResult();
                }
            }
        }
    }

    /// <summary>One more candidate on its way: new writers wait from now on.</summary>
    public void Close()
    {
        _holders++;
        _gate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// A candidate at <paramref name="lastCertified"/> once no writer is between certification and
    /// finish (every writer at or before it is visible on every backend, none after it); until
    /// then null, with the task that completes when the last of them finishes.
    /// </summary>
    public SafeSnapshot? TryOpen(CertificationSequence lastCertified, out Task? quiet)
    {
        if (_writersCommitting.Count > 0)
        {
            quiet = (_quiet ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            return null;
        }

        quiet = null;
        var candidate = new SafeSnapshot(lastCertified, _writersCertified) { HoldsGate = true };
        _candidates.Add(candidate);
        if (!_writableSnapshots.AnyBefore(lastCertified.Value))
        {
            candidate.Settled.TrySetResult(); // no writer can be concurrent with it: safe now
        }

        return candidate;
    }

    /// <summary>
    /// The candidate took its snapshot on every backend: its hold on the gate goes. True when no
    /// writer was certified since it opened (its snapshots form one cut).
    /// </summary>
    public bool CutTaken(SafeSnapshot candidate)
    {
        Release(candidate);
        return _writersCertified == candidate.WritersCertified;
    }

    /// <summary>Stops following the candidate; true if it was followed.</summary>
    public bool Close(SafeSnapshot candidate)
    {
        Release(candidate);
        return _candidates.Remove(candidate);
    }

    /// <summary>Drops one holder of the gate (a candidate that never opened); the last one lets the waiting writers through.</summary>
    public void Open()
    {
        if (--_holders == 0 && _gate is { } gate)
        {
            _gate = null;
            gate.TrySetResult();
        }
    }

    /// <summary>
    /// A writer was certified: it is committing until <see cref="WriterDone"/>, and a candidate it
    /// has an rw-antidependency into (to a transaction the candidate sees) is unsafe.
    /// </summary>
    public void WriterCertified(TransactionId transactionId, CertificationResult verdict)
    {
        _writersCommitting.Add(transactionId);
        _writersCertified++;
        if (verdict.EarliestOutConflict is not { } earliest)
        {
            return;
        }

        foreach (var candidate in _candidates)
        {
            if (earliest <= candidate.Position)
            {
                candidate.Unsafe = true;
                candidate.Settled.TrySetResult();
            }
        }
    }

    /// <summary>The writer finished, or will never commit. Unknown ids are ignored.</summary>
    public void WriterDone(TransactionId transactionId)
    {
        if (_writersCommitting.Remove(transactionId) && _writersCommitting.Count == 0 && _quiet is { } quiet)
        {
            quiet.TrySetResult();
            _quiet = null;
        }
    }

    private void Release(SafeSnapshot candidate)
    {
        if (candidate.HoldsGate)
        {
            candidate.HoldsGate = false;
            Open();
        }
    }
}
