using Khonsu.Data.Backends;

namespace Khonsu.Data.Routing;

/// <summary>
/// Which backends own each table name, and what their catalogs say of it, built from the backends'
/// catalogs; and which own each view name, for routing only (a view is never a table here: what it
/// reads is not known from its name). Names compare without case: both SQLite and PostgreSQL (for
/// unquoted names) treat them so.
/// </summary>
internal sealed class TableMap
{
    private readonly Dictionary<string, List<(KhonsuBackend Backend, TableInfo Table)>> _tables = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<KhonsuBackend>> _views = new(StringComparer.OrdinalIgnoreCase);

    public TableMap(IEnumerable<(KhonsuBackend Backend, BackendCatalog Catalog)> catalogs)
    {
        foreach (var (backend, catalog) in catalogs)
        {
            foreach (var table in catalog.Tables)
            {
                Add(table.Name, backend, table);
                if (table.Schema is not null)
                {
                    Add(table.Schema + "." + table.Name, backend, table);
                }
            }

            foreach (var view in catalog.Views)
            {
                Add(_views, view.Name, backend);
                if (view.Schema is not null)
                {
                    Add(_views, view.Schema + "." + view.Name, backend);
                }
            }
        }
    }

    /// <summary>The backends that have a view of the name: a statement naming it runs there, but reads it as an unknown relation.</summary>
    public IReadOnlyList<KhonsuBackend> ViewOwnersOf(TableReference view)
        => Lookup(_views, view) is { } owners ? owners.Distinct().ToList() : [];

    public IReadOnlyList<KhonsuBackend> OwnersOf(TableReference table)
        => Candidates(table) is { } candidates ? candidates.Select(c => c.Backend).Distinct().ToList() : [];

    /// <summary>
    /// The catalog's entry for a table the backend owns; null when the name is unknown there or
    /// could mean several of its tables (names differing in case or schema only).
    /// </summary>
    public TableInfo? TableOf(KhonsuBackend backend, TableReference table)
    {
        var matches = Candidates(table)?.Where(c => c.Backend == backend).Take(2).ToList();
        return matches is [var only] ? only.Table : null;
    }

    private List<(KhonsuBackend Backend, TableInfo Table)>? Candidates(TableReference table) => Lookup(_tables, table);

    /// <summary>A schema-qualified name matches its own entry when there is one, else the bare name's.</summary>
    private static List<T>? Lookup<T>(Dictionary<string, List<T>> entries, TableReference name)
    {
        if (name.Schema is not null && entries.TryGetValue(name.Schema + "." + name.Name, out var qualified))
        {
            return qualified;
        }

        return entries.TryGetValue(name.Name, out var found) ? found : null;
    }

    private void Add(string name, KhonsuBackend backend, TableInfo table) => Add(_tables, name, (backend, table));

    private static void Add<T>(Dictionary<string, List<T>> entries, string name, T entry)
    {
        if (!entries.TryGetValue(name, out var list))
        {
            entries[name] = list = [];
        }

        list.Add(entry);
    }
}
