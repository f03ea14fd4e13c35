using Khonsu.Engine;
using Khonsu.Engine.Commit;

namespace Khonsu.Data.Backends;

/// <summary>
/// The rows a participant read one by one (by table and key), for its validation at commit, and
/// those the last validation found changed since the snapshot: each such row is an
/// rw-antidependency to its writer, which the certifier judges (see
/// <see cref="BackendTransaction.StaleReads"/>). Each backend validates the rows its own way.
/// </summary>
internal sealed class RowsRead
{
    private readonly Dictionary<(TableInfo Table, string Key), object[]> _rows = [];
    private readonly List<(TableInfo Table, string Key)> _stale = [];

    public int Count => _rows.Count;

    /// <summary>Each row read, by table and canonical key, with its key column values.</summary>
    public IReadOnlyDictionary<(TableInfo Table, string Key), object[]> Rows => _rows;

    public void Add(TableInfo table, object[] keyValues) => _rows.TryAdd((table, RowKey.Format(keyValues)), keyValues);

    public IEnumerable<ItemId> Items(string participant) => _rows.Keys.Select(row => ItemId.Of(participant, row.Table.Name, row.Key));

    /// <summary>The rows the last validation found changed since the snapshot, or held by an unfinished writer.</summary>
    public IReadOnlyCollection<ItemId> Stale(string participant) => [.. _stale.Select(row => ItemId.Of(participant, row.Table.Name, row.Key))];

    /// <summary>A validation starts: no row is known stale yet.</summary>
    public void ClearStale() => _stale.Clear();

    /// <summary>The validation found <paramref name="row"/> changed since the snapshot.</summary>
    public void MarkStale((TableInfo Table, string Key) row) => _stale.Add(row);
}
