using SQLitePCL;

namespace Khonsu.Engine.Tests.Log;

/// <summary>
/// The embedded log's SQLite file as someone else sees it: a DBA's read-only queries, or another
/// process holding the write lock. Uses its own raw handles, never the log's.
/// </summary>
internal static class LogFile
{
    static LogFile() => Batteries_V2.Init();

    /// <summary>Every row of a query, each column as text (NULL as null), as sqlite3 would print them.</summary>
    public static List<string?[]> Query(string path, string sql)
    {
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_open_v2(path, out var db, raw.SQLITE_OPEN_READONLY, null));
        using (db)
        {
            Assert.Equal(raw.SQLITE_OK, raw.sqlite3_prepare_v2(db, sql, out sqlite3_stmt statement));
            using (statement)
            {
                var rows = new List<string?[]>();
                while (raw.sqlite3_step(statement) == raw.SQLITE_ROW)
                {
                    var row = new string?[raw.sqlite3_column_count(statement)];
                    for (var i = 0; i < row.Length; i++)
                    {
                        row[i] = raw.sqlite3_column_type(statement, i) == raw.SQLITE_NULL ? null : raw.sqlite3_column_text(statement, i).utf8_to_string();
                    }

                    rows.Add(row);
                }

                return rows;
            }
        }
    }

    public static string? Scalar(string path, string sql) => Assert.Single(Query(path, sql))[0];

    public static void Execute(string path, string sql)
    {
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_open_v2(path, out var db, raw.SQLITE_OPEN_READWRITE, null));
        using (db)
        {
            Assert.Equal(raw.SQLITE_OK, raw.sqlite3_exec(db, sql));
        }
    }

    /// <summary>Takes the file's write lock, as another process's writer would, until disposed.</summary>
    public static IDisposable HoldWriteLock(string path)
    {
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_open_v2(path, out var db, raw.SQLITE_OPEN_READWRITE, null));
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_exec(db, "BEGIN IMMEDIATE"));
        return new WriteLock(db);
    }

    private sealed class WriteLock(sqlite3 db) : IDisposable
    {
        public void Dispose()
        {
            raw.sqlite3_exec(db, "ROLLBACK");
            db.Dispose();
        }
    }
}
