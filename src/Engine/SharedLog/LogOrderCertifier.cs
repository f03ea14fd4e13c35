using Khonsu.Engine.Certification;
using Khonsu.Engine.Codec;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.SharedLog;

/// <summary>
/// Certifies the commit records of a log that several processes share, one at a time in log
/// order, from the records alone: every process that applies the same log reaches the same
/// verdict on every transaction, without talking to the others. A refused commit record counts
/// as the transaction's abort decision everywhere.
/// </summary>
/// <remarks>
/// It also hands out snapshot positions: the <em>finished</em> watermark in log positions, the
/// last position at or below which every commit has its end record (its writes are visible on
/// every backend), as far as this process has read. Anything after it counts as concurrent, which
/// can only add conflicts. Unlike <see cref="CommitCertifier"/> it never forgets history because a
/// snapshot ended: it cannot see other processes' snapshots, so history is only folded into the
/// summary past <see cref="Capacity"/> transactions, at the same records in every process.
/// </remarks>
internal sealed class LogOrderCertifier : ICertifierMemory
{
    /// <summary>Part of the verdict function, so the same in every process: never configurable.</summary>
    public const int Capacity = 10_000;

    private readonly Lock _lock = new();
    private readonly SsiCertifier _ssi = new(Capacity);
    private readonly SortedSet<long> _unfinished = [];
    private readonly Dictionary<TransactionId, long> _positions = [];

    // What this process saw of each unfinished commit as it applied it: its writes and when. Local
    // knowledge (a process restored from a checkpoint lacks it for older commits), used only to
    // choose snapshots, which are this process's own choice; never part of a verdict.
    private readonly Dictionary<long, Unended> _unended = [];
    private readonly TimeProvider _time;
    private long _applied = -1;

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

    public LogOrderCertifier()
        : this(TimeProvider.System)
    {
    }

    /// <param name="time">The clock that says how long a commit has gone without its end record (see <see cref="OverdueAfter"/>).</param>
    public LogOrderCertifier(TimeProvider time)
    {
        _time = time;
        Diagnostics.KhonsuTelemetry.Track(this);
    }

    /// <summary>
    /// How long a commit may go without its end record before snapshots stop waiting for it: it is
    /// then in doubt somewhere (a participant recovery has not finished yet). Holding every snapshot
    /// behind it would make every later commit concurrent with every other and stop the process;
    /// instead snapshots move past it, and a transaction that reads or writes what it wrote is refused
    /// until its end record comes (see <see cref="TouchesOverdue"/>). The runtime sets it to its
    /// <c>PrepareLease</c>.
    /// </summary>
    public TimeSpan OverdueAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Certifies the first decision of a transaction, a commit record at <paramref name="position"/>;
    /// call in log order, together with <see cref="Applied"/> for every record. A commit record
    /// without <see cref="LogRecord.Certification"/> (from a process that does not certify) is
    /// remembered as a writer that saw everything before it, so it is never refused but others
    /// meet it.
    /// </summary>
    public CertificationResult CertifyCommit(LogPosition position, LogRecord commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var before = new LogPosition(position.Value - 1);
        var certification = commit.Certification;
        var snapshot = certification is null || certification.Snapshot > before ? before : certification.Snapshot;
        var request = new CertificationRequest(commit.TransactionId, InCertifier(snapshot), certification?.Reads ?? [], CertificationRequest.WritesOf(commit.Participants))
        {
            // Its snapshots were all taken before its commit record: the latest bound the log gives.
            SnapshotsTakenBy = certification is { SeveralSnapshots: true } ? InCertifier(before) : null,
            LastWriterWins = CertificationRequest.LastWriterWinsOf(commit.Participants),
        };

        lock (_lock)
        {
            var verdict = _ssi.Certify(request, InCertifier(position), certification?.Serializable ?? false);
            // A read-only transaction's record has no participants: nothing to finish, no end record.
            if (verdict.Commit && !commit.IsReadOnlyCertification)
            {
                _unfinished.Add(position.Value);
                _positions[commit.TransactionId] = position.Value;
                _unended[position.Value] = new Unended(commit.TransactionId, request.Writes.ToHashSet(), _time.GetTimestamp());
            }

            return verdict;
        }
    }

    /// <summary>
    /// The one place a log offset becomes a place in certification order. Offsets start at 0, and
    /// "saw nothing" is -1; certification counts from 1, with 0 for "saw nothing" (its summary of
    /// forgotten history starts there).
    /// </summary>
    private static CertificationSequence InCertifier(LogPosition offset) => new(offset.Value + 1);

    /// <summary>A record at <paramref name="position"/> was applied (of any kind), in log order.</summary>
    public void Applied(LogPosition position)
    {
        lock (_lock)
        {
            _applied = Math.Max(_applied, position.Value);
        }
    }

    /// <summary>The transaction's end record was applied: its writes are visible everywhere.</summary>
    public void Ended(TransactionId transactionId)
    {
        lock (_lock)
        {
            if (_positions.Remove(transactionId, out var position))
            {
                _unfinished.Remove(position);
                _unended.Remove(position);
            }
        }
    }

    /// <summary>Writes its exact state, part of a log checkpoint (see <see cref="LogOrderCertifierCheckpoint"/>).</summary>
    internal void WriteState(CodecWriter writer, NameTable names)
    {
        lock (_lock)
        {
            LogOrderCertifierCheckpoint.Write(writer, names, _applied, _positions, _ssi);
        }
    }

    /// <summary>A certifier in the state <see cref="WriteState"/> wrote.</summary>
    internal static LogOrderCertifier ReadState(ref CodecReader reader, NameTable names)
    {
        var certifier = new LogOrderCertifier();
        var (applied, unfinished) = LogOrderCertifierCheckpoint.Read(ref reader, names, certifier._ssi);
        certifier._applied = applied;
        foreach (var (id, position) in unfinished)
        {
            certifier._unfinished.Add(position);
            certifier._positions.Add(id, position);
        }

        return certifier;
    }

    /// <summary>
    /// A snapshot position for a transaction about to read its first backend: before the oldest
    /// commit without its end record, unless that one is overdue (see <see cref="OverdueAfter"/>);
    /// overdue ones are passed over, and met by <see cref="TouchesOverdue"/> instead.
    /// </summary>
    public LogPosition TakeSnapshot()
    {
        lock (_lock)
        {
            foreach (var position in _unfinished)
            {
                if (!IsOverdue(position))
                {
                    return new LogPosition(position - 1);
                }
            }

            return new LogPosition(_applied);
        }
    }

    /// <summary>
    /// A transaction whose snapshot (<see cref="LogCertification.Snapshot"/>, a log offset from
    /// <see cref="TakeSnapshot"/>) passed over a commit that has no end record yet may have read a
    /// version that commit replaced, and may not overwrite what it wrote (its redo would fail): if it
    /// reads or writes any of it, it is refused here, in its own process, before its record is
    /// appended. Every other process then certifies its record as if it had seen that commit, which
    /// is true of everything it touched.
    /// </summary>
    public CertificationResult? TouchesOverdue(LogCertification certification, IReadOnlyCollection<ItemId> writes)
    {
        ArgumentNullException.ThrowIfNull(certification);
        ArgumentNullException.ThrowIfNull(writes);
        lock (_lock)
        {
            foreach (var position in _unfinished)
            {
                if (position > certification.Snapshot.Value)
                {
                    break;
                }

                if (!_unended.TryGetValue(position, out var unended))
                {
                    continue;
                }

                var writer = new CommittedTransaction(unended.TransactionId, InCertifier(new LogPosition(position)), CertificationSequence.Start, [], unended.Writes);
                foreach (var item in certification.Reads.Concat(writes))
                {
                    if (SsiCertifier.Overlaps(item, writer))
                    {
                        return new CertificationResult(
                            false,
                            $"{item} was written by {unended.TransactionId}, which committed but has not ended after {OverdueAfter.TotalSeconds:0.#} s (in doubt until recovery finishes it)",
                            item,
                            unended.TransactionId);
                    }
                }
            }

            return null;
        }
    }

    /// <summary>Whether the commit at <paramref name="position"/> has gone without its end record for longer than <see cref="OverdueAfter"/>, as far as this process knows its writes.</summary>
    private bool IsOverdue(long position)
        => _unended.TryGetValue(position, out var unended) && _time.GetElapsedTime(unended.AppliedAt) >= OverdueAfter;

    /// <summary>An unfinished commit as this process applied it.</summary>
    private sealed record Unended(TransactionId TransactionId, HashSet<ItemId> Writes, long AppliedAt);

    /// <summary>
    /// Checks a read-only transaction, which leaves no record, against the log as read so far,
    /// without remembering it: it may be the reader of a committed pivot, or have read half of a
    /// transaction that committed between its snapshots.
    /// </summary>
    public CertificationResult CheckReadOnly(TransactionId transactionId, LogCertification certification)
    {
        ArgumentNullException.ThrowIfNull(certification);
        lock (_lock)
        {
            var now = InCertifier(new LogPosition(_applied));
            var request = new CertificationRequest(transactionId, InCertifier(certification.Snapshot), certification.Reads, [])
            {
                SnapshotsTakenBy = certification.SeveralSnapshots ? now : null,
            };
            return _ssi.Check(request, new CertificationSequence(now.Value + 1), certification.Serializable);
        }
    }
}
