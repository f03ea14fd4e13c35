namespace Khonsu.Engine.Certification;

/// <summary>
/// What the certifier keeps of forgotten transactions: the last commit position that wrote each
/// row, collapsed to one entry per table when it grows past its budget (coarser, never laxer).
/// </summary>
internal sealed class WriteSummary(int budget)
{
    private readonly Dictionary<ItemId, CertificationSequence> _rows = [];
    private readonly Dictionary<ItemId, CertificationSequence> _tables = [];
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

    /// <summary>Whether rows were collapsed into their tables (see <see cref="Add"/>).</summary>
    internal bool Collapsed => _collapsed;

    /// <summary>The last position that wrote each row (empty once <see cref="Collapsed"/>).</summary>
    internal IReadOnlyDictionary<ItemId, CertificationSequence> Rows => _rows;

    /// <summary>The last position that wrote each table and each backend (its any-table item).</summary>
    internal IReadOnlyDictionary<ItemId, CertificationSequence> Tables => _tables;

    /// <summary>Replaces its state with a checkpoint's (see <see cref="SsiCertifierCheckpoint"/>).</summary>
    internal void Restore(bool collapsed, IEnumerable<KeyValuePair<ItemId, CertificationSequence>> rows, IEnumerable<KeyValuePair<ItemId, CertificationSequence>> tables)
    {
        _collapsed = collapsed;
        _rows.Clear();
        _tables.Clear();
        foreach (var (item, position) in rows)
        {
            _rows.Add(item, position);
        }

        foreach (var (item, position) in tables)
        {
            _tables.Add(item, position);
        }
    }

    private static void Raise(Dictionary<ItemId, CertificationSequence> map, ItemId item, CertificationSequence position)
    {
        if (!map.TryGetValue(item, out var current) || current < position)
        {
            map[item] = position;
        }
    }
}
