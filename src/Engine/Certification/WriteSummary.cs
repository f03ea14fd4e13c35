using Khonsu.Engine.Log;

namespace Khonsu.Engine.Certification;

/// <summary>
/// What the certifier keeps of forgotten transactions: the last commit position that wrote each
/// row, collapsed to one entry per table when it grows past its budget (coarser, never laxer).
/// </summary>
internal sealed class WriteSummary(int budget)
{
    private readonly Dictionary<ItemId, LogPosition> _rows = [];
    private readonly Dictionary<ItemId, LogPosition> _tables = [];
    private bool _collapsed;

    public void Add(CommittedTransaction transaction)
    {
        foreach (var write in transaction.Writes)
        {
            Raise(_tables, write.TableOf, transaction.Position);
            Raise(_tables, write.AnyTableOfBackend, transaction.Position);
            if (!write.IsTable && !_collapsed)
            {
                Raise(_rows, write, transaction.Position);
            }
        }

        if (_rows.Count > budget)
        {
            // From now on table entries alone cover every row: coarser, never laxer.
            _rows.Clear();
            _collapsed = true;
        }
    }

    /// <summary>An item the transaction read (or wrote) that a forgotten transaction wrote after its snapshot.</summary>
    public ItemId? ConflictsWith(CommittedTransaction t, bool serializable)
    {
        var items = serializable ? t.Reads.Concat(t.FirstCommitterWins) : t.FirstCommitterWins;
        foreach (var item in items)
        {
            var table = _tables.GetValueOrDefault(item.TableOf);
            if (table <= t.Snapshot)
            {
                continue;
            }

            if (item.IsTable || _collapsed || _rows.GetValueOrDefault(item) > t.Snapshot)
            {
                return item;
            }
        }

        return null;
    }

    private static void Raise(Dictionary<ItemId, LogPosition> map, ItemId item, LogPosition position)
    {
        if (!map.TryGetValue(item, out var current) || current < position)
        {
            map[item] = position;
        }
    }
}
