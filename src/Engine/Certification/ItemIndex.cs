namespace Khonsu.Engine.Certification;

/// <summary>
/// The remembered transactions that touched each item, in commit order: what a certification
/// probes instead of scanning every concurrent transaction. Like PostgreSQL's SIREAD locks for
/// reads (and its write tracking), but kept for committed transactions only, since the certifier
/// decides at commit from the read and write sets.
/// </summary>
internal sealed class ItemIndex
{
    // Most items are touched by one remembered transaction (a row written once): those hold it in a
    // one-element array, the others a TransactionsByPosition. Fewer objects for the GC to trace.
    private readonly Dictionary<ItemId, object> _byItem = [];

    /// <summary>Items indexed (for the memory figures).</summary>
    public int Items => _byItem.Count;

    public void Add(ItemId item, CommittedTransaction transaction)
    {
        ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_byItem, item, out var exists);
        if (!exists)
        {
            entry = new[] { transaction };
        }
        else if (entry is CommittedTransaction[] single)
        {
            if (!ReferenceEquals(single[0], transaction))
            {
                var transactions = new TransactionsByPosition();
                transactions.Add(single[0]);
                transactions.Add(transaction);
                entry = transactions;
            }
        }
        else
        {
            ((TransactionsByPosition)entry!).Add(transaction);
        }
    }

    /// <summary>Drops <paramref name="transaction"/> and any older one from the item's entry: history is forgotten oldest first.</summary>
    public void Remove(ItemId item, CommittedTransaction transaction)
    {
        if (!_byItem.TryGetValue(item, out var entry))
        {
            return;
        }

        var emptied = entry is CommittedTransaction[] single
            ? single[0].Position <= transaction.Position
            : ((TransactionsByPosition)entry).RemoveThrough(transaction.Position) > 0 && ((TransactionsByPosition)entry).Count == 0;
        if (emptied)
        {
            _byItem.Remove(item);
        }
    }

    /// <summary>The transactions that touched <paramref name="item"/> and committed after <paramref name="snapshot"/>, oldest first.</summary>
    public ReadOnlySpan<CommittedTransaction> After(ItemId item, CertificationSequence snapshot)
        => !_byItem.TryGetValue(item, out var entry) ? []
            : entry is CommittedTransaction[] single ? (single[0].Position > snapshot ? single : [])
            : ((TransactionsByPosition)entry).After(snapshot);

    public void Clear() => _byItem.Clear();
}
