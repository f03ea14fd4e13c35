using System.Collections.Concurrent;
using Khonsu.Data.Backends;
using SQLitePCL;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Asks SQLite's own parser about a statement text: whether it writes (sqlite3_stmt_readonly),
/// cached per text so a repeated statement costs one dictionary lookup; and which tables it reads
/// (the authorizer, see <see cref="TablesRead"/>), which the router caches per text and catalog.
/// </summary>
internal sealed class SqliteStatementAnalyzer
{
    private const int MaxCached = 10_000;
    private readonly ConcurrentDictionary<string, bool> _readOnly = new(StringComparer.Ordinal);
    private int _readProbes;

    /// <summary>How many times <see cref="TablesRead"/> prepared a text (for tests: the router asks once per text).</summary>
    public int ReadProbes => Volatile.Read(ref _readProbes);

    public bool IsReadOnly(sqlite3 handle, string sql)
    {
        if (_readOnly.TryGetValue(sql, out var cached))
        {
            return cached;
        }

        var writes = false;

        // A text SQLite cannot prepare is not ours to report: it fails with SQLite's error when it runs.
        PrepareEach(handle, sql, statement => writes |= raw.sqlite3_stmt_readonly(statement) == 0);
        if (_readOnly.Count < MaxCached)
        {
            _readOnly.TryAdd(sql, !writes);
        }

        return !writes;
    }

    /// <summary>
    /// The tables every statement of the text reads, as SQLite's authorizer reports them while it
    /// compiles them (SQLITE_READ, table by table): through views, in subqueries and CTEs, and in
    /// the triggers a write fires, which SQLite compiles into the statement. Reads by Khonsu's own
    /// triggers and of its own and SQLite's tables are left out; a read of the version column is a
    /// read of its table like any other. A view's own columns are reported too, beside the reads
    /// of its tables that name it as their context: a name that is no table of
    /// <paramref name="tables"/> and is such a context is a view, already covered. Null when the
    /// text does not prepare (a statement that needs an earlier one of the same text to have run,
    /// say): the SQL scanner's view stands. The authorizer is installed only while the text is
    /// prepared, on this connection.
    /// </summary>
    public StatementReads? TablesRead(sqlite3 handle, string sql, IReadOnlyDictionary<string, TableInfo> tables)
    {
        Interlocked.Increment(ref _readProbes);
        var reads = new HashSet<(string? Schema, string Name)>(NameComparer.Instance);
        var contexts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        strdelegate_authorizer authorizer = (_, action, table, _, database, context) =>
        {
            if (action == raw.SQLITE_READ && !string.IsNullOrEmpty(table) && !IsKhonsuOrSqlite(table) && !(context?.StartsWith("khonsu_", StringComparison.OrdinalIgnoreCase) ?? false))
            {
                reads.Add((string.IsNullOrEmpty(database) || database == "main" ? null : database, table));
                if (!string.IsNullOrEmpty(context))
                {
                    contexts.Add(context);
                }
            }

            return raw.SQLITE_OK;
        };

        raw.sqlite3_set_authorizer(handle, authorizer, null);
        try
        {
            if (!PrepareEach(handle, sql, _ => { }))
            {
                return null;
            }
        }
        finally
        {
            raw.sqlite3_set_authorizer(handle, (strdelegate_authorizer?)null, null);
        }

        return new StatementReads([.. reads.Where(read => tables.ContainsKey(read.Name) || !contexts.Contains(read.Name))]);
    }

    private static bool IsKhonsuOrSqlite(string table)
        => table.StartsWith("khonsu_", StringComparison.OrdinalIgnoreCase) || table.StartsWith("sqlite_", StringComparison.OrdinalIgnoreCase);

    /// <summary>Prepares each statement of the text in turn, then finalizes it; false if one does not prepare.</summary>
    private static bool PrepareEach(sqlite3 handle, string sql, Action<sqlite3_stmt> visit)
    {
        var remaining = sql;
        while (!string.IsNullOrWhiteSpace(remaining))
        {
            if (raw.sqlite3_prepare_v2(handle, remaining, out sqlite3_stmt statement, out string tail) != raw.SQLITE_OK)
            {
                statement?.Dispose();
                return false;
            }

            try
            {
                if (statement is not null && !statement.IsInvalid)
                {
                    visit(statement);
                }
            }
            finally
            {
                statement?.Dispose();
            }

            remaining = tail;
        }

        return true;
    }

    /// <summary>SQLite names are case-insensitive.</summary>
    private sealed class NameComparer : IEqualityComparer<(string? Schema, string Name)>
    {
        public static readonly NameComparer Instance = new();

        public bool Equals((string? Schema, string Name) x, (string? Schema, string Name) y)
            => StringComparer.OrdinalIgnoreCase.Equals(x.Schema, y.Schema) && StringComparer.OrdinalIgnoreCase.Equals(x.Name, y.Name);

        public int GetHashCode((string? Schema, string Name) name)
            => HashCode.Combine(name.Schema is null ? 0 : StringComparer.OrdinalIgnoreCase.GetHashCode(name.Schema), StringComparer.OrdinalIgnoreCase.GetHashCode(name.Name));
    }
}
