namespace Khonsu.Engine.Certification;

/// <summary>
/// Committed transactions in commit order: appended at the newest end, dropped from the oldest
/// (history is forgotten oldest first), and read as the newest ones after a snapshot, which a
/// binary search finds without touching the older ones.
/// </summary>
internal sealed class TransactionsByPosition
{
    private CommittedTransaction[] _items = new CommittedTransaction[2];
    private int _head;
    private int _count;

    public int Count => _count;

    public CommittedTransaction Newest => _items[_head + _count - 1];

    public ReadOnlySpan<CommittedTransaction> All => _items.AsSpan(_head, _count);

    /// <summary>Appends <paramref name="transaction"/>, which committed after every one held; a second append of the newest is ignored.</summary>
    public void Add(CommittedTransaction transaction)
    {
        if (_count > 0 && ReferenceEquals(Newest, transaction))
        {
            return;
        }

        if (_head + _count == _items.Length)
        {
            // Reuse the room freed at the front before growing.
            var grown = _count * 2 <= _items.Length ? _items : new CommittedTransaction[_items.Length * 2];
            Array.Copy(_items, _head, grown, 0, _count);
            if (ReferenceEquals(grown, _items))
            {
                Array.Clear(_items, _count, _head);
            }

            _items = grown;
            _head = 0;
        }

        _items[_head + _count++] = transaction;
    }

    /// <summary>Drops the transactions committed at or before <paramref name="upTo"/>; returns how many.</summary>
    public int RemoveThrough(CertificationSequence upTo)
    {
        var removed = 0;
        while (_count > 0 && _items[_head].Position <= upTo)
        {
            _items[_head++] = null!;
            _count--;
            removed++;
        }

        if (_count == 0)
        {
            _head = 0;
        }

        return removed;
    }

    /// <summary>The transactions committed after <paramref name="snapshot"/>, oldest first.</summary>
    public ReadOnlySpan<CommittedTransaction> After(CertificationSequence snapshot)
    {
        var all = All;
        if (all.Length == 0 || all[^1].Position <= snapshot)
        {
            return [];
        }

        var low = 0;
        var high = all.Length - 1;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (all[middle].Position > snapshot)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return all[low..];
    }
}
