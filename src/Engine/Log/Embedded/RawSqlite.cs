using SQLitePCL;

namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// One SQLite connection over SQLitePCLRaw's raw API (the Engine holds no ADO.NET), with its
/// prepared statements cached by SQL text. Not thread-safe: its owner uses it from one caller at a time.
/// </summary>
internal sealed class RawSqlite : IDisposable
{
    private readonly sqlite3 _handle;
    private readonly Dictionary<string, RawStatement> _statements = new(StringComparer.Ordinal);

    static RawSqlite() => Batteries_V2.Init();

    private readonly int _busyTimeoutMilliseconds;

    private RawSqlite(sqlite3 handle, string path, int busyTimeoutMilliseconds)
    {
        _handle = handle;
        Path = path;
        _busyTimeoutMilliseconds = busyTimeoutMilliseconds;
    }

    public string Path { get; }

    /// <summary>False while a transaction is open on this connection.</summary>
    public bool IsAutocommit => raw.sqlite3_get_autocommit(_handle) != 0;

    public long LastInsertRowId => raw.sqlite3_last_insert_rowid(_handle);

    /// <summary>Rows the last INSERT, UPDATE or DELETE changed.</summary>
    public int Changes => raw.sqlite3_changes(_handle);

    public static RawSqlite Open(string path, bool readOnly, TimeSpan busyTimeout)
    {
        // NOMUTEX: each connection has one user at a time, so SQLite's own per-call mutex is wasted.
        var flags = (readOnly ? raw.SQLITE_OPEN_READONLY : raw.SQLITE_OPEN_READWRITE | raw.SQLITE_OPEN_CREATE) | raw.SQLITE_OPEN_NOMUTEX;
        var rc = raw.sqlite3_open_v2(path, out var handle, flags, null);
        if (rc != raw.SQLITE_OK)
        {
            var message = handle is null || handle.IsInvalid ? raw.sqlite3_errstr(rc).utf8_to_string() : raw.sqlite3_errmsg(handle).utf8_to_string();
            handle?.Dispose();
            throw new IOException($"Cannot open the commit log '{path}': {message} (SQLite error {rc}).");
        }

        raw.sqlite3_busy_timeout(handle, (int)busyTimeout.TotalMilliseconds);
        return new RawSqlite(handle, path, (int)busyTimeout.TotalMilliseconds);
    }

    public void Execute(string sql) => Check(raw.sqlite3_exec(_handle, sql), sql);

    /// <summary>
    /// BEGIN IMMEDIATE if the file's write lock is free right now; false, with no transaction
    /// open, if another connection holds it (nothing waits on the busy timeout).
    /// </summary>
    public bool TryBeginImmediateWithoutWaiting()
    {
        raw.sqlite3_busy_timeout(_handle, 0);
        try
        {
            var rc = raw.sqlite3_exec(_handle, "BEGIN IMMEDIATE");
            if (rc == raw.SQLITE_BUSY)
            {
                return false;
            }

            Check(rc, "BEGIN IMMEDIATE");
            return true;
        }
        finally
        {
            raw.sqlite3_busy_timeout(_handle, _busyTimeoutMilliseconds);
        }
    }

    /// <summary>
    /// Rolls back the open transaction, if any, after an error. Some errors (a full disk, an I/O
    /// error) have rolled it back already; a failing ROLLBACK is not reported, the first error is.
    /// </summary>
    public void RollBackAfterError()
    {
        if (!IsAutocommit)
        {
            raw.sqlite3_exec(_handle, "ROLLBACK");
        }
    }

    /// <summary>
    /// The cached statement for this SQL, reset and unbound. Dispose it after use: that resets it,
    /// which ends the read transaction a half-stepped SELECT would otherwise keep open (and with it
    /// the WAL, which a checkpoint cannot recycle past an open reader).
    /// </summary>
    public RawStatement Prepare(string sql)
    {
        if (!_statements.TryGetValue(sql, out var statement))
        {
            Check(raw.sqlite3_prepare_v2(_handle, sql, out sqlite3_stmt prepared), sql);
            statement = new RawStatement(this, prepared, sql);
            _statements.Add(sql, statement);
        }

        return statement;
    }

    public void Check(int rc, string what)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            throw new IOException($"Commit log '{Path}': {raw.sqlite3_errmsg(_handle).utf8_to_string()} (SQLite error {rc}) in: {what}");
        }
    }

    public void Dispose()
    {
        foreach (var statement in _statements.Values)
        {
            statement.Close();
        }

        _statements.Clear();
        raw.sqlite3_close_v2(_handle);
        _handle.Dispose();
    }
}
