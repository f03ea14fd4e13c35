using SQLitePCL;

namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// One SQLite handle over SQLitePCLRaw, with prepared statements cached by text. The Engine holds
/// no ADO.NET; this is the whole of what the embedded log needs. Not thread-safe: one user at a time.
/// </summary>
internal sealed class RawSqlite : IDisposable
{
    private readonly sqlite3 _handle;
    private readonly Dictionary<string, RawStatement> _statements = new(StringComparer.Ordinal);

    static RawSqlite() => Batteries_V2.Init();

    private RawSqlite(sqlite3 handle) => _handle = handle;

    public static RawSqlite Open(string path)
    {
        var rc = raw.sqlite3_open_v2(path, out var handle, raw.SQLITE_OPEN_READWRITE | raw.SQLITE_OPEN_CREATE | raw.SQLITE_OPEN_NOMUTEX, null);
        if (rc != raw.SQLITE_OK)
        {
            var message = handle is null ? raw.sqlite3_errstr(rc).utf8_to_string() : raw.sqlite3_errmsg(handle).utf8_to_string();
            handle?.Dispose();
            throw new IOException($"Cannot open the commit log '{path}': {message}");
        }

        raw.sqlite3_busy_timeout(handle, 30_000);
        return new RawSqlite(handle);
    }

    public void Execute(string sql) => Check(raw.sqlite3_exec(_handle, sql), sql);

    public RawStatement Prepare(string sql)
    {
        if (!_statements.TryGetValue(sql, out var statement))
        {
            Check(raw.sqlite3_prepare_v2(_handle, sql, out sqlite3_stmt handle), sql);
            _statements[sql] = statement = new RawStatement(this, handle);
        }

        statement.Reset();
        return statement;
    }

    public void Check(int rc, string what)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            throw new IOException($"Commit log error {rc} ({raw.sqlite3_errmsg(_handle).utf8_to_string()}) in: {what}");
        }
    }

    public void Dispose()
    {
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }

        _statements.Clear();
        _handle.Dispose();
    }
}
