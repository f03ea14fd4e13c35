using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Coordination;

/// <summary>What the coordinator records and certifies about a transaction besides its participants.</summary>
internal sealed record TransactionInfo(TransactionId Id, DateTimeOffset StartedAt, string? Operation)
{
    /// <summary>This process's certifier's snapshot, taken before the transaction's first statement; null when it never certifies.</summary>
    public CertificationSequence? Snapshot { get; init; }

    /// <summary>
    /// The snapshot in a shared log (see <see cref="SharedLog.ISharedCommitLog"/>): the last record
    /// it saw, taken with <see cref="Snapshot"/>; null when the log is not shared, or the transaction
    /// never certifies. A log offset, unlike the three certification places around it.
    /// </summary>
    public LogPosition? LogSnapshot { get; init; }

    /// <summary>The last place certified once it had its snapshot on every backend; null if it read one backend only.</summary>
    public CertificationSequence? SnapshotsTakenBy { get; init; }

    /// <summary>The last place certified once it had its snapshot on every backend (see <see cref="CertificationRequest.VisibleUpTo"/>); null if unknown.</summary>
    public CertificationSequence? VisibleUpTo { get; init; }

    /// <summary>
    /// Per backend, what its snapshot there certainly saw (see <see cref="CertificationRequest.BackendSnapshots"/>); null: <see cref="Snapshot"/> for all.
    /// </summary>
    public IReadOnlyDictionary<string, CertificationSequence>? BackendSnapshots { get; init; }

    /// <summary>What it read: rows, and whole tables where rows could not be told apart.</summary>
    public IReadOnlyCollection<ItemId> Reads { get; init; } = [];

    /// <summary>Declared read-only: a write found at prepare rolls it back (<see cref="ReadOnlyViolationException"/>).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// Tables (items without a key) whose conflict policy is Replace: the transaction's writes to
    /// them are marked last-writer-wins (see <see cref="Commit.RowWrite.LastWriterWins"/>).
    /// </summary>
    public IReadOnlyCollection<ItemId> LastWriterWinsTables { get; init; } = [];

    /// <summary>
    /// Read-only and begun on a <see cref="SafeSnapshot"/> taken on every backend at once: it can
    /// take part in no anomaly and its snapshots form one cut, so with a log this process alone
    /// certifies it is neither validated nor certified. A shared log still certifies it in log
    /// order: transactions of other processes were not waited for.
    /// </summary>
    public bool SafeSnapshot { get; init; }

    /// <summary>Serializable (read-write conflicts matter) or Snapshot (write-write conflicts only).</summary>
    public bool Serializable { get; init; } = true;
}
