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
/// <para>
/// The transactions remembered in full are indexed by the items they wrote and read
/// (<see cref="CommittedHistory"/>), so a certification costs a hash probe per item it read or
/// wrote, however long the history and however many transactions are concurrent with it. The
/// conflicts the probes find are met in the order a scan of every concurrent transaction would
/// meet them, so the verdicts (and the item and transaction a refusal names) are the scan's.
/// </para>
/// </summary>
internal sealed class SsiCertifier(int capacity = 10_000)
{
    // Shared, never changed: most certifications meet no concurrent write.
    private static readonly List<ConcurrentWrite> NoWrites = [];

    private readonly CommittedHistory _committed = new();
    private readonly HashSet<ItemId> _distinct = [];
    private readonly WriteSummary _summary = new(capacity);
    private CertificationSequence _horizon = CertificationSequence.Start;

    /// <summary>Transactions remembered in full (for tests and metrics).</summary>
    public int RememberedTransactions => _committed.Count;

    /// <summary>Read and written items of the transactions remembered in full.</summary>
    public long RememberedItems => _committed.Items;

    /// <summary>Distinct items in the index of remembered transactions (for the memory figures).</summary>
    public int IndexedItems => _committed.IndexedItems;

    /// <summary>How many transactions it remembers in full before folding the oldest half into its summary.</summary>
    public int Capacity => capacity;

    /// <summary>Snapshots older than this are certified against the summary too.</summary>
    internal CertificationSequence Horizon => _horizon;

    /// <summary>What it remembers of transactions folded out of <see cref="Remembered"/>.</summary>
    internal WriteSummary Summary => _summary;

    /// <summary>The transactions remembered in full, oldest first.</summary>
    internal ReadOnlySpan<CommittedTransaction> Remembered => _committed.All;

    /// <summary>
    /// Certifies a transaction whose commit record sits at <paramref name="position"/>; call in log
    /// order. Committed transactions are remembered for the ones after them.
    /// </summary>
    public CertificationResult Certify(CertificationRequest request, CertificationSequence position, bool serializable = true)
    {
        var candidate = Candidate(request, position);
        var verdict = Check(candidate, serializable, request);
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
        => Check(Candidate(request, position), serializable, request);

    private CommittedTransaction Candidate(CertificationRequest request, CertificationSequence position)
        => new(request.TransactionId, position, request.Snapshot, Distinct(request.Reads), SetOf(request.Writes), request.VisibleUpTo, request.BackendSnapshots)
        {
            LastWriterWins = request.LastWriterWins.Count == 0 ? CommittedTransaction.NoItems : SetOf(request.LastWriterWins),
        };

    /// <summary>
    /// The items as a set: the request's own when it is one already (the commit path builds its
    /// writes as a set and never changes it after asking), saving a copy per certification.
    /// </summary>
    private static HashSet<ItemId> SetOf(IReadOnlyCollection<ItemId> items)
        => items is HashSet<ItemId> set && ReferenceEquals(set.Comparer, EqualityComparer<ItemId>.Default) ? set : new HashSet<ItemId>(items);

    /// <summary>Each item once, in the order first met; the set that checks it is reused (callers serialise certifications).</summary>
    private ItemId[] Distinct(IReadOnlyCollection<ItemId> items)
    {
        if (items.Count == 0)
        {
            return [];
        }

        _distinct.Clear();
        var distinct = new ItemId[items.Count];
        var count = 0;
        foreach (var item in items)
        {
            if (_distinct.Add(item))
            {
                distinct[count++] = item;
            }
        }

        return count == distinct.Length ? distinct : distinct[..count];
    }

    /// <summary>
    /// Drops committed transactions at or before <paramref name="upTo"/>: no transaction whose
    /// snapshot is at or after it can see them as concurrent, and the caller knows no older snapshot
    /// is still live.
    /// </summary>
    public void Forget(CertificationSequence upTo) => _committed.ForgetThrough(upTo);

    /// <summary>Replaces this (empty) certifier's state with a checkpoint's (see <see cref="SsiCertifierCheckpoint"/>).</summary>
    internal void Restore(CertificationSequence horizon, IEnumerable<CommittedTransaction> remembered)
    {
        _horizon = horizon;
        _committed.Clear();
        foreach (var transaction in remembered)
        {
            _committed.Add(transaction);
        }
    }

    private CertificationResult Check(CommittedTransaction t, bool serializable, CertificationRequest request)
    {
        if (t.Snapshot < _horizon && _summary.ConflictsWith(t, serializable) is { } forgotten)
        {
            return new CertificationResult(false, $"its snapshot is older than what the certifier remembers in full, and {forgotten} was written after it", forgotten);
        }

        if (t.BackendSnapshots is not null && SeenAfterMissed(t) is { } halfSeen)
        {
            return halfSeen;
        }

        // The first concurrent writer, in commit order, of a row it writes: first committer wins.
        if (UnseenWrites(t, t.FirstCommitterWins) is [var first, ..])
        {
            return new CertificationResult(false, $"write-write conflict on {first.Item}: {first.Writer.Id} wrote it after this transaction's snapshot", first.Item, first.Writer.Id);
        }

        if (UnknownWriter(t, request.StaleReads) is { } unexplained)
        {
            return new CertificationResult(
                false,
                $"it read {unexplained}, which was changed since its snapshot by a transaction the certifier does not know of (a writer outside Khonsu, or one not certified yet), whose reads it cannot check",
                unexplained);
        }

        if (!serializable)
        {
            return CertificationResult.Committed;
        }

        // T -rw-> X: T read something X wrote after T's snapshot.
        var unseenReads = UnseenWrites(t, t.Reads);
        if (request.SnapshotsTakenBy is { } takenBy && FracturedRead(unseenReads, takenBy) is { } fractured)
        {
            return fractured;
        }

        var outs = FirstPerWriter(unseenReads);
        if (outs.Count == 0)
        {
            return CertificationResult.Committed;
        }

        // X -rw-> T: X read something T writes.
        var ins = t.ReadOnly ? [] : _committed.ReadersAfter(t, t.Snapshot);
        foreach (var tIn in ins)
        {
            foreach (var (tOut, outItem) in outs)
            {
                if (tOut.Position <= tIn.Position && (!tIn.ReadOnly || tOut.Position <= tIn.VisibleUpTo))
                {
                    return new CertificationResult(
                        false,
                        $"dangerous structure with this transaction as pivot: {tIn.Id} read {FirstOverlap(tIn.Reads, t)} that it writes, and it read {outItem} that {tOut.Id} wrote and committed first",
                        outItem,
                        tOut.Id);
                }
            }
        }

        foreach (var (pivot, item) in outs)
        {
            if (pivot.EarliestOutConflict is { } earliest && earliest < pivot.Position && (!t.ReadOnly || earliest <= t.VisibleUpTo))
            {
                return new CertificationResult(
                    false,
                    $"dangerous structure with {pivot.Id} as pivot: this transaction read {item} that it wrote, and it had read what an earlier-committed transaction wrote",
                    item,
                    pivot.Id);
            }
        }

        t.EarliestOutConflict = outs[0].Writer.Position;
        return CertificationResult.Committed with { EarliestOutConflict = t.EarliestOutConflict };
    }

    /// <summary>
    /// Which of <paramref name="items"/> (of <paramref name="t"/>'s reads, or writes) transactions
    /// committed after its snapshot wrote without <paramref name="t"/> certainly seeing it written, in
    /// commit order and then in the set's order. On a backend whose snapshot <paramref name="t"/>
    /// took after the writer had finished there, it read or overwrote the writer's own version,
    /// which orders the writer before it (no conflict).
    /// </summary>
    private List<ConcurrentWrite> UnseenWrites(CommittedTransaction t, IEnumerable<ItemId> items)
    {
        var found = WritesAfterSnapshot(t, items);
        if (found is null)
        {
            return NoWrites;
        }

        if (t.BackendSnapshots is not null)
        {
            found.RemoveAll(write => t.Saw(write.Item, write.Writer));
        }

        return found;
    }

    /// <summary>Each concurrent write of <paramref name="items"/>, seen or not, sorted (see <see cref="ConcurrentWrite"/>); null for none.</summary>
    private List<ConcurrentWrite>? WritesAfterSnapshot(CommittedTransaction t, IEnumerable<ItemId> items)
    {
        List<ConcurrentWrite>? found = null;
        var index = 0;
        foreach (var item in items)
        {
            _committed.WritersAfter(item, index++, t.Snapshot, ref found);
        }

        found?.Sort();
        return found;
    }

    /// <summary>
    /// The first of <paramref name="staleReads"/> (rows its participant found changed since the
    /// snapshot, or held by an unfinished writer) that no remembered transaction committed after the
    /// snapshot wrote without <paramref name="t"/> seeing it. A stale row with such a writer is the
    /// rw-antidependency <c>t -rw-> writer</c>, which the rules below weigh like any other; one
    /// without is a writer the certifier cannot see (outside Khonsu, or not certified yet), whose
    /// reads could close a cycle unseen, so it is refused as the participant used to refuse it.
    /// </summary>
    private ItemId? UnknownWriter(CommittedTransaction t, IReadOnlyCollection<ItemId> staleReads)
    {
        foreach (var stale in staleReads)
        {
            if (UnseenWrites(t, [stale]).Count == 0)
            {
                return stale;
            }
        }

        return null;
    }

    /// <summary>Each writer once, with the first of its writes met, in commit order.</summary>
    private static List<(CommittedTransaction Writer, ItemId Item)> FirstPerWriter(List<ConcurrentWrite> writes)
    {
        var writers = new List<(CommittedTransaction Writer, ItemId Item)>();
        foreach (var write in writes)
        {
            if (writers.Count == 0 || !ReferenceEquals(writers[^1].Writer, write.Writer))
            {
                writers.Add((write.Writer, write.Item));
            }
        }

        return writers;
    }

    /// <summary>
    /// Transactions that committed while this one took its snapshots on several backends may be
    /// visible in some of them and not in others: the later snapshots saw them, the earlier ones did
    /// not. Whole-table reads cannot tell which. If what it read of such commits lies on two
    /// backends, it may have seen one (or half of one) and missed another that came before it: a
    /// fractured read, whether the commits are one transaction or several (T saw B's write on one
    /// backend and missed A's on another, A before B, is the cycle T -rw-> A -> B -wr-> T).
    /// </summary>
    /// <param name="unseenReads">Its reads that concurrent transactions wrote and it did not certainly see, sorted.</param>
    private static CertificationResult? FracturedRead(List<ConcurrentWrite> unseenReads, CertificationSequence takenBy)
    {
        ConcurrentWrite? first = null;
        foreach (var (x, _, item) in unseenReads)
        {
            if (x.Position > takenBy)
            {
                break; // began committing after every snapshot: invisible everywhere
            }

            first ??= new ConcurrentWrite(x, 0, item);
            if (item.Backend != first.Value.Item.Backend)
            {
                var (firstWriter, _, firstItem) = first.Value;
                var writers = firstWriter == x ? $"{x.Id} wrote" : $"{firstWriter.Id} and {x.Id} wrote";
                return new CertificationResult(
                    false,
                    $"it read {firstItem} and {item}, which {writers} while committing on backends '{firstItem.Backend}' and '{item.Backend}' between this transaction's snapshots there: it may have seen one part and not the other (a fractured read)",
                    firstItem,
                    firstWriter.Id);
            }
        }

        return null;
    }

    /// <summary>The first of <paramref name="items"/> (reads, or writes) that <paramref name="writer"/> wrote.</summary>
    private static ItemId? FirstOverlap(IEnumerable<ItemId> items, CommittedTransaction writer)
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
    /// A transaction whose backends' snapshots were taken at different moments sees each concurrent
    /// commit on some backends and maybe not on others. It may treat the commits it certainly saw as
    /// before it only if its view is one cut of the commit order: it saw none of them in part (on one
    /// backend and not on another where it touched them too), and each of them came before every
    /// commit it may have missed. Otherwise it read (or overwrote) a later commit's writes and not an
    /// earlier one's, a cut no serial order has: refused. With the cut, every commit it saw is a
    /// predecessor and every other one is concurrent, as with a single snapshot at that cut.
    /// </summary>
    private CertificationResult? SeenAfterMissed(CommittedTransaction t)
    {
        (CommittedTransaction Writer, ItemId Item)? lastSeen = null;
        (CommittedTransaction Writer, ItemId Item)? firstMissed = null;
        foreach (var (x, _, item) in WritesAfterSnapshot(t, t.Reads.Concat(t.Writes)) ?? [])
        {
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
        var oldest = _committed.All[..forget];
        foreach (var old in oldest)
        {
            _summary.Add(old);
        }

        _horizon = oldest[^1].Position;
        _committed.ForgetThrough(_horizon);
    }
}
