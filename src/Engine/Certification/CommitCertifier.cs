using Khonsu.Engine.Log;

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
public sealed class CommitCertifier : ICertifierMemory
{
    private readonly Lock _lock = new();
    private readonly SsiCertifier _ssi;
    private readonly SortedSet<long> _unfinished = [];
    private readonly Dictionary<TransactionId, long> _positions = [];
    private readonly SortedDictionary<long, int> _activeSnapshots = [];
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
    public LogPosition LastCertified
    {
        get
        {
            lock (_lock)
            {
                return new LogPosition(_last);
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

    /// <summary>
    /// Takes a snapshot position for a transaction about to read its first backend. Call
    /// <see cref="ReleaseSnapshot"/> when it ends, so that history it can no longer need is forgotten.
    /// </summary>
    public LogPosition TakeSnapshot()
    {
        lock (_lock)
        {
            var snapshot = Watermark();
            _activeSnapshots[snapshot] = _activeSnapshots.GetValueOrDefault(snapshot) + 1;
            return new LogPosition(snapshot);
        }
    }

    public void ReleaseSnapshot(LogPosition snapshot)
    {
        lock (_lock)
        {
            if (!_activeSnapshots.TryGetValue(snapshot.Value, out var count))
            {
                return;
            }

            if (count == 1)
            {
                _activeSnapshots.Remove(snapshot.Value);
                ForgetUnneeded();
            }
            else
            {
                _activeSnapshots[snapshot.Value] = count - 1;
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
            var position = ++_last;
            var verdict = _ssi.Certify(request, new LogPosition(position), serializable);
            if (verdict.Commit)
            {
                _unfinished.Add(position);
                _positions[request.TransactionId] = position;
            }

            return verdict;
        }
    }

    /// <summary>The transaction finished on every backend (or will never commit). Unknown ids are ignored.</summary>
    public void Finished(TransactionId transactionId)
    {
        lock (_lock)
        {
            if (_positions.Remove(transactionId, out var position))
            {
                _unfinished.Remove(position);
                ForgetUnneeded();
            }
        }
    }

    private long Watermark() => _unfinished.Count == 0 ? _last : _unfinished.Min - 1;

    /// <summary>Committed transactions at or below every live and future snapshot are never concurrent with anything again.</summary>
    private void ForgetUnneeded()
    {
        var oldestNeeded = _activeSnapshots.Count == 0 ? Watermark() : Math.Min(_activeSnapshots.First().Key, Watermark());
        _ssi.Forget(new LogPosition(oldestNeeded));
    }
}
