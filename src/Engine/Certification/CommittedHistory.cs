namespace Khonsu.Engine.Certification;

/// <summary>
/// The committed transactions a certifier remembers in full, in commit order, indexed by the items
/// they wrote (rows, and the tables and backends those rows are in, for predicate reads) and by the
/// items they read. A certification probes the index once per item it read or wrote, so it costs
/// O(R + W) hash lookups plus the conflicts it finds, however many transactions are remembered.
/// Not thread-safe: its certifier's caller serialises calls.
/// </summary>
internal sealed class CommittedHistory
{
    private readonly TransactionsByPosition _all = new();
    private readonly ItemIndex _writes = new();
    private readonly ItemIndex _writtenTables = new();
    private readonly ItemIndex _reads = new();

    // Remembered transactions that wrote a whole table (no row key): rare, so row probes look the
    // table up only while one is remembered.
    private int _tableWriters;

    public int Count => _all.Count;

    /// <summary>Read and written items of the transactions remembered.</summary>
    public long Items { get; private set; }

    /// <summary>Distinct items in the indexes (for the memory figures).</summary>
    public int IndexedItems => _writes.Items + _writtenTables.Items + _reads.Items;

    /// <summary>Every transaction remembered, oldest first.</summary>
    public ReadOnlySpan<CommittedTransaction> All => _all.All;

    public void Add(CommittedTransaction transaction)
    {
        _all.Add(transaction);
        Index(transaction, add: true);
    }

    /// <summary>Forgets the transactions committed at or before <paramref name="upTo"/>.</summary>
    public void ForgetThrough(CertificationSequence upTo)
    {
        foreach (var old in _all.All)
        {
            if (old.Position > upTo)
            {
                break;
            }

            Index(old, add: false);
        }

        _all.RemoveThrough(upTo);
    }

    /// <summary>Adds the transaction to every index entry of an item it wrote or read, or removes it from them.</summary>
    private void Index(CommittedTransaction transaction, bool add)
    {
        var sign = add ? 1 : -1;
        Items += sign * (transaction.Reads.Length + transaction.Writes.Count);
        if (transaction.WritesWholeTable)
        {
            _tableWriters += sign;
        }

        foreach (var write in transaction.Writes)
        {
            // The written tables and backends (see CommittedTransaction.WrittenTables), without
            // building that set: the index ignores a second add of the same transaction.
            Apply(_writes, write);
            Apply(_writtenTables, write.TableOf);
            Apply(_writtenTables, write.AnyTableOfBackend);
        }

        foreach (var read in transaction.Reads)
        {
            Apply(_reads, read);
        }

        void Apply(ItemIndex index, ItemId item)
        {
            if (add)
            {
                index.Add(item, transaction);
            }
            else
            {
                index.Remove(item, transaction);
            }
        }
    }

    /// <summary>Transactions committed after <paramref name="snapshot"/>, oldest first.</summary>
    public ReadOnlySpan<CommittedTransaction> After(CertificationSequence snapshot) => _all.After(snapshot);

    /// <summary>
    /// Adds to <paramref name="found"/> every transaction committed after <paramref name="snapshot"/>
    /// that wrote <paramref name="item"/> (the <paramref name="index"/>-th item of the candidate's
    /// set): for a row, a write of that row or of its whole table; for a table, a write of any row
    /// in it (or anywhere on its backend, for the any-table item); see <see cref="SsiCertifier.Overlaps"/>.
    /// </summary>
    public void WritersAfter(ItemId item, int index, CertificationSequence snapshot, ref List<ConcurrentWrite>? found)
    {
        if (item.IsTable)
        {
            Collect(_writtenTables.After(item, snapshot), item, index, ref found);
            return;
        }

        Collect(_writes.After(item, snapshot), item, index, ref found);
        if (_tableWriters > 0)
        {
            Collect(_writes.After(item.TableOf, snapshot), item, index, ref found);
        }
    }

    /// <summary>
    /// The transactions committed after <paramref name="snapshot"/> that read something
    /// <paramref name="writer"/> writes (see <see cref="SsiCertifier.Overlaps"/>), oldest first, each once.
    /// </summary>
    public List<CommittedTransaction> ReadersAfter(CommittedTransaction writer, CertificationSequence snapshot)
    {
        var readers = new List<CommittedTransaction>();
        if (writer.WritesWholeTable)
        {
            // A whole-table write meets every row read of the table, which the index is not keyed by.
            foreach (var x in After(snapshot))
            {
                if (x.Reads.Any(read => SsiCertifier.Overlaps(read, writer)))
                {
                    readers.Add(x);
                }
            }

            return readers;
        }

        foreach (var write in writer.Writes)
        {
            readers.AddRange(_reads.After(write, snapshot));
        }

        foreach (var table in writer.WrittenTables)
        {
            readers.AddRange(_reads.After(table, snapshot));
        }

        if (readers.Count > 1)
        {
            readers.Sort(static (a, b) => a.Position.CompareTo(b.Position));
            var distinct = 1;
            for (var i = 1; i < readers.Count; i++)
            {
                if (!ReferenceEquals(readers[i], readers[distinct - 1]))
                {
                    readers[distinct++] = readers[i];
                }
            }

            readers.RemoveRange(distinct, readers.Count - distinct);
        }

        return readers;
    }

    public void Clear()
    {
        _all.RemoveThrough(new CertificationSequence(long.MaxValue));
        _writes.Clear();
        _writtenTables.Clear();
        _reads.Clear();
        _tableWriters = 0;
        Items = 0;
    }

    private static void Collect(ReadOnlySpan<CommittedTransaction> writers, ItemId item, int index, ref List<ConcurrentWrite>? found)
    {
        foreach (var writer in writers)
        {
            (found ??= []).Add(new ConcurrentWrite(writer, index, item));
        }
    }
}
