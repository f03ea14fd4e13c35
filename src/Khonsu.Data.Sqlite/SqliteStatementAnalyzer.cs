using System.Collections.Concurrent;
using SQLitePCL;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Asks SQLite's own parser whether a statement text writes (sqlite3_stmt_readonly), cached per
/// text so a repeated statement costs one dictionary lookup.
/// </summary>
internal sealed class SqliteStatementAnalyzer
{
    private const int MaxCached = 10_000;
    private readonly ConcurrentDictionary<string, bool> _readOnly = new(StringComparer.Ordinal);

    public bool IsReadOnly(sqlite3 handle, string sql)
    {
        if (_readOnly.TryGetValue(sql, out var cached))
        {
            return cached;
        }

        var readOnly = Analyze(handle, sql);
        if (_readOnly.Count < MaxCached)
        {
            _readOnly.TryAdd(sql, readOnly);
        }

        return readOnly;
    }

    private static bool Analyze(sqlite3 handle, string sql)
    {
        var remaining = sql;
        while (!string.IsNullOrWhiteSpace(remaining))
        {
            if (raw.sqlite3_prepare_v2(handle, remaining, out sqlite3_stmt statement, out string tail) != raw.SQLITE_OK)
            {
                // Not ours to report: the statement itself fails with SQLite's error when it runs.
                return true;
            }

            try
            {
                if (statement is not null && !statement.IsInvalid && raw.sqlite3_stmt_readonly(statement) == 0)
                {
                    return false;
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
}
