namespace Khonsu.Engine.Certification;

/// <summary>
/// What the certifier remembers of a committed transaction while a later one could still be
/// concurrent with it. <see cref="EarliestOutConflict"/> is the commit position of the
/// earliest-committed transaction it has an rw-antidependency to (it read what that one wrote
/// without seeing it), which makes it a committed pivot when that came before its own commit.
/// </summary>
internal sealed class CommittedTransaction(
    TransactionId id, CertificationSequence position, CertificationSequence snapshot, ItemId[] reads, HashSet<ItemId> writes, CertificationSequence? visibleUpTo = null, IReadOnlyDictionary<string, CertificationSequence>? backendSnapshots = null)
{
    public TransactionId Id { get; } = id;

    public CertificationSequence Position { get; } = position;

    public CertificationSequence Snapshot { get; } = snapshot;

    /// <summary>The last position that may be visible to it (see <see cref="CertificationRequest.VisibleUpTo"/>).</summary>
    public CertificationSequence VisibleUpTo { get; } = visibleUpTo is { } bound && bound < position ? bound : new CertificationSequence(position.Value - 1);

    /// <summary>What it read, each item once, in the order first read (which decides which item a refusal names).</summary>
    public ItemId[] Reads { get; } = reads;

    /// <summary>What it certainly saw on each backend (see <see cref="CertificationRequest.BackendSnapshots"/>); used while it is the candidate only.</summary>
    public IReadOnlyDictionary<string, CertificationSequence>? BackendSnapshots { get; } = backendSnapshots;

    /// <summary>Whether it certainly saw <paramref name="writer"/>'s writes on <paramref name="item"/>'s backend: the writer had finished there before its snapshot.</summary>
    public bool Saw(ItemId item, CommittedTransaction writer)
        => BackendSnapshots is { } snapshots && snapshots.TryGetValue(item.Backend, out var snapshot) && writer.Position <= snapshot;

    public HashSet<ItemId> Writes { get; } = writes;

    /// <summary>Written tables (and each backend written, as its any-table item), so a predicate read finds its conflicts without scanning rows.</summary>
    public HashSet<ItemId> WrittenTables => _writtenTables ??= WrittenTablesOf(Writes);

    private HashSet<ItemId>? _writtenTables;

    /// <summary>Whether it wrote a whole table (an item without a row key), which every read of a row in it meets.</summary>
    public bool WritesWholeTable { get; } = AnyWholeTable(writes);

    public bool ReadOnly => Writes.Count == 0;

    /// <summary>Writes exempt from write-write conflicts (see <see cref="CertificationRequest.LastWriterWins"/>).</summary>
    public HashSet<ItemId> LastWriterWins { get; init; } = NoItems;

    /// <summary>An empty set shared by every transaction without such writes; never changed.</summary>
    internal static HashSet<ItemId> NoItems { get; } = [];

    /// <summary>The writes that lose to a concurrent committed write of the same row (first committer wins).</summary>
    public HashSet<ItemId> FirstCommitterWins => LastWriterWins.Count == 0 ? Writes : [.. Writes.Except(LastWriterWins)];

    public CertificationSequence? EarliestOutConflict { get; set; }

    private static HashSet<ItemId> WrittenTablesOf(HashSet<ItemId> writes)
    {
        var tables = new HashSet<ItemId>();
        foreach (var write in writes)
        {
            tables.Add(write.TableOf);
            tables.Add(write.AnyTableOfBackend);
        }

        return tables;
    }

    private static bool AnyWholeTable(HashSet<ItemId> writes)
    {
        foreach (var write in writes)
        {
            if (write.IsTable)
            {
                return true;
            }
        }

        return false;
    }
}
