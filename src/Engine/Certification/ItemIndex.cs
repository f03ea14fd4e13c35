using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Khonsu.Engine.Certification;

/// <summary>
/// The remembered transactions that touched each item, in commit order: what a certification
/// probes instead of scanning every concurrent transaction. Like PostgreSQL's SIREAD locks for
/// reads (and its write tracking), but kept for committed transactions only, since the certifier
/// decides at commit from the read and write sets.
/// </summary>
internal sealed class ItemIndex
{
    // Most items are touched by one remembered transaction (a row written once): those hold it
    // itself, the others a TransactionsByPosition. No object of its own per item for the GC to trace.
    private readonly Dictionary<ItemId, object> _byItem = [];

    /// <summary>Items indexed (for the memory figures).</summary>
    public int Items => _byItem.Count;

    public void Add(ItemId item, CommittedTransaction transaction)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_byItem, item, out var exists);
        if (!exists)
        {
            entry = transaction;
        }
        else if (entry is CommittedTransaction single)
        {
            if (!ReferenceEquals(single, transaction))
            {
                var transactions = new TransactionsByPosition();
                transactions.Add(single);
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

        var emptied = entry is CommittedTransaction single
            ? single.Position <= transaction.Position
            : ((TransactionsByPosition)entry).RemoveThrough(transaction.Position) > 0 && ((TransactionsByPosition)entry).Count == 0;
        if (emptied)
        {
            _byItem.Remove(item);
        }
    }

    /// <summary>The transactions that touched <paramref name="item"/> and committed after <paramref name="snapshot"/>, oldest first.</summary>
    public ReadOnlySpan<CommittedTransaction> After(ItemId item, CertificationSequence snapshot)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_byItem, item);
        if (Unsafe.IsNullRef(ref entry))
        {
            return [];
        }

        if (entry is CommittedTransaction single)
        {
            // A span over the dictionary's own slot: callers read it before the index changes.
            return single.Position > snapshot ? new ReadOnlySpan<CommittedTransaction>(ref Unsafe.As<object, CommittedTransaction>(ref entry)) : [];
        }

        return ((TransactionsByPosition)entry).After(snapshot);
    }

    public void Clear() => _byItem.Clear();
}
