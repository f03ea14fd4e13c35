using Khonsu.Engine.Codec;

namespace Khonsu.Engine.Certification;

/// <summary>
/// Serializable snapshot isolation certification in the style of Cahill et al. and PostgreSQL
/// (Ports and Grittner, VLDB 2012), decided from the commit log alone: transactions are
/// certified one at a time in log order, so every process that reads the same log reaches the
/// same verdicts. Concurrent means "committed after the other's snapshot".
/// <list type="bullet">
/// <item>Write-write conflict with a concurrent committed transaction: abort (first committer wins),
/// except for writes marked last-writer-wins (a table with the Replace conflict policy).</item>
/// <item>The transaction is a pivot, Tin -rw-> T -rw-> Tout, with Tout committed no later than Tin
/// (and, when Tin is read-only, possibly visible to Tin): abort T.</item>
/// <item>The transaction is Tin of a committed pivot whose Tout committed before the pivot (and, when
/// T is read-only, possibly visible to T): abort T.</item>
/// </list>
/// Only the committing transaction is ever aborted (every other one in the structure has
/// committed), and its retry takes a snapshot after all of them, so it cannot meet the same
/// conflict again. Memory is bounded: past <c>capacity</c> transactions the oldest are folded into
/// a summary of the last commit position that wrote each item (per table under pressure), against
/// which transactions with an old snapshot are certified conservatively.
/// </summary>
internal sealed class SsiCertifier(int capacity = 10_000)
{
    private readonly List<CommittedTransaction> _committed = [];
    private readonly WriteSummary _summary = new(capacity);
    private CertificationSequence _horizon = CertificationSequence.Start;

    /// <summary>Transactions remembered in full (for tests and metrics).</summary>
    public int RememberedTransactions => _committed.Count;

    /// <summary>Read and written items of the transactions remembered in full.</summary>
    public long RememberedItems => _committed.Sum(t => (long)t.Reads.Count + t.Writes.Count);

    /// <summary>
    /// Certifies a transaction whose commit record sits at <paramref name="position"/>; call in log
    /// order. Committed transactions are remembered for the ones after them.
    /// </summary>
    public CertificationResult Certify(CertificationRequest request, CertificationSequence position, bool serializable = true)
    {
        var candidate = Candidate(request, position);
        var verdict = Check(candidate, serializable, request.SnapshotsTakenBy);
        // Read-only transactions are remembered too: one can be Tin of a later pivot.
        if (verdict.Commit)
        {
            Remember(candidate);
        }

        return verdict;
    }

    /// <summary>
    /// Whether a transaction that leaves no record in the log (a read-only one) could commit at
    /// <paramref name="position"/>, without remembering it: certifiers that must agree from the log
    /// alone can only remember what the log holds.
    /// </summary>
    public CertificationResult Check(CertificationRequest request, CertificationSequence position, bool serializable = true)
        => Check(Candidate(request, position), serializable, request.SnapshotsTakenBy);

    private static CommittedTransaction Candidate(CertificationRequest request, CertificationSequence position)
        => new(request.TransactionId, position, request.Snapshot, [.. request.Reads], [.. request.Writes], request.VisibleUpTo, request.BackendSnapshots) { LastWriterWins = [.. request.LastWriterWins] };

    /// <summary>
    /// Drops committed transactions at or before <paramref name="upTo"/>: no transaction whose
    /// snapshot is at or after it can see them as concurrent, and the caller knows no older snapshot
    /// is still live.
    /// </summary>
    public void Forget(CertificationSequence upTo)
    {
        var count = 0;
        while (count < _committed.Count && _committed[count].Position <= upTo)
        {
            count++;
        }

        _committed.RemoveRange(0, count);
    }

    /// <summary>
    /// Its exact state: the transactions remembered in full, in order, each read and write set in
    /// its set's order (which decides which conflicting item a refusal names), the horizon and the
    /// summary. Restored with <see cref="ReadState"/>, it certifies every later transaction exactly
    /// as this instance would.
    /// </summary>
    internal void WriteState(CodecWriter writer, NameTable names)
    {
        writer.WriteCount(capacity);
        writer.WriteVarInt(_horizon.Value);
        writer.WriteCount(_committed.Count);
        foreach (var t in _committed)
        {
            writer.WriteGuid(t.Id.Value);
            writer.WriteVarInt(t.Position.Value);
            writer.WriteVarInt(t.Snapshot.Value);
            writer.WriteByte((byte)((t.EarliestOutConflict is null ? 0 : 1) | (t.LastWriterWins.Count == 0 ? 0 : 2)));
            if (t.EarliestOutConflict is { } earliest)
            {
                writer.WriteVarInt(earliest.Value);
            }

            WriteItems(writer, t.Reads, names);
            WriteItems(writer, t.Writes, names);
            if (t.LastWriterWins.Count > 0)
            {
                // Folding into the summary leaves these out: a restored certifier must fold alike.
                WriteItems(writer, t.LastWriterWins, names);
            }
        }

        _summary.WriteState(writer, names);
    }

    /// <summary>Replaces this (empty) certifier's state with what <see cref="WriteState"/> wrote.</summary>
    internal void ReadState(ref CodecReader reader, NameTable names)
    {
        var written = reader.ReadVarUInt();
        if (written != (ulong)capacity)
        {
            throw new InvalidDataException($"Log checkpoint was written by a certifier of capacity {written}, this one holds {capacity}: its verdicts would differ.");
        }

        _horizon = new CertificationSequence(reader.ReadVarInt());
        _committed.Clear();
        var count = reader.ReadCount();
        for (var i = 0; i < count; i++)
        {
            var id = new TransactionId(reader.ReadGuid());
            var position = new CertificationSequence(reader.ReadVarInt());
            var snapshot = new CertificationSequence(reader.ReadVarInt());
            var flags = reader.ReadByte();
            if (flags > 3)
            {
                throw new InvalidDataException($"Log checkpoint is malformed: unknown flags 0x{flags:X2} for transaction {id}.");
            }

            CertificationSequence? earliest = (flags & 1) != 0 ? new CertificationSequence(reader.ReadVarInt()) : null;
            var reads = ReadItems(ref reader, names);
            var writes = ReadItems(ref reader, names);
            HashSet<ItemId> lastWriterWins = (flags & 2) != 0 ? ReadItems(ref reader, names) : [];
            _committed.Add(new CommittedTransaction(id, position, snapshot, reads, writes) { EarliestOutConflict = earliest, LastWriterWins = lastWriterWins });
        }

        _summary.ReadState(ref reader, names);
    }

    private static void WriteItems(CodecWriter writer, HashSet<ItemId> items, NameTable names)
    {
        writer.WriteCount(items.Count);
        foreach (var item in items)
        {
            ItemIdCodec.Write(writer, item, names);
        }
    }

    private static HashSet<ItemId> ReadItems(ref CodecReader reader, NameTable names)
    {
        var count = reader.ReadCount();
        var items = new HashSet<ItemId>(count);
        for (var i = 0; i < count; i++)
        {
            items.Add(ItemIdCodec.Read(ref reader, names));
        }

        return items;
    }

    private CertificationResult Check(CommittedTransaction t, bool serializable, CertificationSequence? snapshotsTakenBy)
    {
        if (t.Snapshot < _horizon && _summary.ConflictsWith(t, serializable) is { } forgotten)
        {
            return new CertificationResult(false, $"its snapshot is older than what the certifier remembers in full, and {forgotten} was written after it", forgotten);
        }

        var concurrent = Concurrent(t.Snapshot);
        if (t.BackendSnapshots is not null && SeenAfterMissed(t, concurrent) is { } halfSeen)
        {
            return halfSeen;
        }

        var firstCommitterWins = t.FirstCommitterWins;
        foreach (var x in concurrent)
        {
            if (FirstUnseenOverlap(t, firstCommitterWins, x) is { } item)
            {
                return new CertificationResult(false, $"write-write conflict on {item}: {x.Id} wrote it after this transaction's snapshot", item, x.Id);
            }
        }

        if (!serializable)
        {
            return CertificationResult.Committed;
        }

        if (snapshotsTakenBy is { } takenBy && FracturedRead(t, concurrent, takenBy) is { } fractured)
        {
            return fractured;
        }

        // T -rw-> X: T read something X wrote after T's snapshot. X -rw-> T: X read something T writes.
        var outs = concurrent.Select(x => (X: x, Item: FirstUnseenOverlap(t, t.Reads, x))).Where(e => e.Item is not null).ToList();
        var ins = t.ReadOnly ? [] : concurrent.Select(x => (X: x, Item: FirstOverlap(x.Reads, t))).Where(e => e.Item is not null).ToList();

        foreach (var (tIn, inItem) in ins)
        {
            foreach (var (tOut, outItem) in outs)
            {
                if (tOut.Position <= tIn.Position && (!tIn.ReadOnly || tOut.Position <= tIn.VisibleUpTo))
                {
                    return new CertificationResult(
                        false,
                        $"dangerous structure with this transaction as pivot: {tIn.Id} read {inItem} that it writes, and it read {outItem} that {tOut.Id} wrote and committed first",
                        outItem,
                        tOut.Id);
                }
            }
        }

        foreach (var (pivot, item) in outs)
        {
            if (pivot.EarliestOutConflict is { } first && first < pivot.Position && (!t.ReadOnly || first <= t.VisibleUpTo))
            {
                return new CertificationResult(
                    false,
                    $"dangerous structure with {pivot.Id} as pivot: this transaction read {item} that it wrote, and it had read what an earlier-committed transaction wrote",
                    item,
                    pivot.Id);
            }
        }

        if (outs.Count == 0)
        {
            return CertificationResult.Committed;
        }

        t.EarliestOutConflict = outs.Min(e => e.X.Position);
        return CertificationResult.Committed with { EarliestOutConflict = t.EarliestOutConflict };
    }

    /// <summary>
    /// Transactions that committed while this one took its snapshots on several backends may be
    /// visible in some of them and not in others: the later snapshots saw them, the earlier ones did
    /// not. Whole-table reads cannot tell which. If what it read of such commits lies on two
    /// backends, it may have seen one (or half of one) and missed another that came before it: a
    /// fractured read, whether the commits are one transaction or several (T saw B's write on one
    /// backend and missed A's on another, A before B, is the cycle T -rw-> A -> B -wr-> T).
    /// </summary>
    private static CertificationResult? FracturedRead(CommittedTransaction t, List<CommittedTransaction> concurrent, CertificationSequence takenBy)
    {
        (ItemId Item, CommittedTransaction Writer)? first = null;
        foreach (var x in concurrent)
        {
            if (x.Position > takenBy)
            {
                break; // began committing after every snapshot: invisible everywhere
            }

            foreach (var item in t.Reads.Where(item => Overlaps(item, x) && !t.Saw(item, x)))
            {
                first ??= (item, x);
                if (item.Backend != first.Value.Item.Backend)
                {
                    var (firstItem, firstWriter) = first.Value;
                    var writers = firstWriter == x ? $"{x.Id} wrote" : $"{firstWriter.Id} and {x.Id} wrote";
                    return new CertificationResult(
                        false,
                        $"it read {firstItem} and {item}, which {writers} while committing on backends '{firstItem.Backend}' and '{item.Backend}' between this transaction's snapshots there: it may have seen one part and not the other (a fractured read)",
                        firstItem,
                        firstWriter.Id);
                }
            }
        }

        return null;
    }

    /// <summary>Committed transactions the snapshot did not see: those after it in log order.</summary>
    private List<CommittedTransaction> Concurrent(CertificationSequence snapshot)
    {
        var concurrent = new List<CommittedTransaction>();
        for (var i = _committed.Count - 1; i >= 0 && _committed[i].Position > snapshot; i--)
        {
            concurrent.Add(_committed[i]);
        }

        concurrent.Reverse();
        return concurrent;
    }

    /// <summary>The first of <paramref name="items"/> (reads, or writes) that <paramref name="writer"/> wrote.</summary>
    private static ItemId? FirstOverlap(HashSet<ItemId> items, CommittedTransaction writer)
    {
        foreach (var item in items)
        {
            if (Overlaps(item, writer))
            {
                return item;
            }
        }

        return null;
    }

    /// <summary>
    /// The first of <paramref name="items"/> (of <paramref name="t"/>'s reads, or writes) that
    /// <paramref name="writer"/> wrote and that <paramref name="t"/> did not certainly see written:
    /// on a backend whose snapshot <paramref name="t"/> took after the writer had finished there, it
    /// read or overwrote the writer's own version, which orders the writer before it (no conflict).
    /// </summary>
    private static ItemId? FirstUnseenOverlap(CommittedTransaction t, HashSet<ItemId> items, CommittedTransaction writer)
    {
        foreach (var item in items)
        {
            if (Overlaps(item, writer) && !t.Saw(item, writer))
            {
                return item;
            }
        }

        return null;
    }

    /// <summary>
    /// A transaction whose backends' snapshots were taken at different moments sees each concurrent
    /// commit on some backends and maybe not on others. It may treat the commits it certainly saw as
    /// before it only if its view is one cut of the commit order: it saw none of them in part (on one
    /// backend and not on another where it touched them too), and each of them came before every
    /// commit it may have missed. Otherwise it read (or overwrote) a later commit's writes and not an
    /// earlier one's, a cut no serial order has: refused. With the cut, every commit it saw is a
    /// predecessor and every other one is concurrent, as with a single snapshot at that cut.
    /// </summary>
    private static CertificationResult? SeenAfterMissed(CommittedTransaction t, List<CommittedTransaction> concurrent)
    {
        (CommittedTransaction Writer, ItemId Item)? lastSeen = null;
        (CommittedTransaction Writer, ItemId Item)? firstMissed = null;
        foreach (var x in concurrent)
        {
            foreach (var item in t.Reads.Concat(t.Writes))
            {
                if (!Overlaps(item, x))
                {
                    continue;
                }

                if (t.Saw(item, x))
                {
                    if (firstMissed is { } missed)
                    {
                        return HalfSeen(item, x, missed.Item, missed.Writer);
                    }

                    lastSeen = (x, item);
                }
                else
                {
                    if (lastSeen is { } seen && seen.Writer == x)
                    {
                        return HalfSeen(seen.Item, x, item, x);
                    }

                    firstMissed ??= (x, item);
                }
            }
        }

        return null;

        static CertificationResult HalfSeen(ItemId seenItem, CommittedTransaction seen, ItemId missedItem, CommittedTransaction missed) => new(
            false,
            seen == missed
                ? $"it saw {seen.Id}'s write of {seenItem} but may not have seen its write of {missedItem}: its snapshots on backends '{seenItem.Backend}' and '{missedItem.Backend}' were taken on either side of that commit (a fractured read)"
                : $"it saw {seen.Id}'s write of {seenItem} but may not have seen {missed.Id}'s write of {missedItem}, which committed first: its snapshots on backends '{seenItem.Backend}' and '{missedItem.Backend}' were taken at different moments (a fractured read)",
            missedItem,
            missed.Id);
    }

    internal static bool Overlaps(ItemId item, CommittedTransaction writer) => item.IsTable
        ? writer.WrittenTables.Contains(item)
        : writer.Writes.Contains(item) || writer.Writes.Contains(item.TableOf);

    private void Remember(CommittedTransaction t)
    {
        _committed.Add(t);
        if (_committed.Count <= capacity)
        {
            return;
        }

        // Fold the oldest half into the summary: later snapshots never see them as concurrent.
        var forget = _committed.Count / 2;
        foreach (var old in _committed.Take(forget))
        {
            _summary.Add(old);
        }

        _horizon = _committed[forget - 1].Position;
        _committed.RemoveRange(0, forget);
    }
}
