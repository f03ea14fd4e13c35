using Khonsu.Data.Backends;

namespace Khonsu.Data.Routing;

/// <summary>
/// Which backends own each table name, built from the backends' catalogs. Names compare without
/// case: both SQLite and PostgreSQL (for unquoted names) treat them so.
/// </summary>
internal sealed class TableMap
{
    private readonly Dictionary<string, List<KhonsuBackend>> _owners = new(StringComparer.OrdinalIgnoreCase);

    public TableMap(IEnumerable<(KhonsuBackend Backend, BackendCatalog Catalog)> catalogs)
    {
        foreach (var (backend, catalog) in catalogs)
        {
            foreach (var table in catalog.Tables)
            {
                Add(table.Name, backend);
                if (table.Schema is not null)
                {
                    Add(table.Schema + "." + table.Name, backend);
                }
            }
        }
    }

    public IReadOnlyList<KhonsuBackend> OwnersOf(TableReference table)
    {
        if (table.Schema is not null && _owners.TryGetValue(table.Schema + "." + table.Name, out var qualified))
        {
            return qualified;
        }

        return _owners.TryGetValue(table.Name, out var owners) ? owners : [];
    }

    private void Add(string name, KhonsuBackend backend)
    {
        if (!_owners.TryGetValue(name, out var owners))
        {
            _owners[name] = owners = [];
        }

        if (!owners.Contains(backend))
        {
            owners.Add(backend);
        }
    }
}
