using SQLitePCL;

namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// A prepared statement cached by its <see cref="RawSqlite"/>. Parameters are 1-based, columns
/// 0-based. <see cref="Dispose"/> resets it for its next use; <see cref="Close"/> finalizes it.
/// </summary>
internal sealed class RawStatement(RawSqlite connection, sqlite3_stmt handle, string sql) : IDisposable
{
    public RawStatement Bind(int index, long value)
    {
        connection.Check(raw.sqlite3_bind_int64(handle, index, value), sql);
        return this;
    }

    public RawStatement Bind(int index, long? value) => value is { } number ? Bind(index, number) : BindNull(index);

    public RawStatement Bind(int index, string? value)
    {
        connection.Check(value is null ? raw.sqlite3_bind_null(handle, index) : raw.sqlite3_bind_text(handle, index, value), sql);
        return this;
    }

    public RawStatement Bind(int index, ReadOnlySpan<byte> value)
    {
        connection.Check(raw.sqlite3_bind_blob(handle, index, value), sql);
        return this;
    }

    public RawStatement BindNull(int index)
    {
        connection.Check(raw.sqlite3_bind_null(handle, index), sql);
        return this;
    }

    /// <summary>Steps once; true while there is a row.</summary>
    public bool Step()
    {
        var rc = raw.sqlite3_step(handle);
        connection.Check(rc, sql);
        return rc == raw.SQLITE_ROW;
    }

    /// <summary>Runs a statement that returns no rows worth reading.</summary>
    public void Run()
    {
        while (Step())
        {
        }
    }

    public long Int64(int column) => raw.sqlite3_column_int64(handle, column);

    public bool IsNull(int column) => raw.sqlite3_column_type(handle, column) == raw.SQLITE_NULL;

    public string? Text(int column) => raw.sqlite3_column_text(handle, column).utf8_to_string();

    /// <summary>The column's bytes, valid only until the next step or reset.</summary>
    public ReadOnlySpan<byte> Blob(int column) => raw.sqlite3_column_blob(handle, column);

    public void Dispose()
    {
        raw.sqlite3_reset(handle);
        raw.sqlite3_clear_bindings(handle);
    }

    public void Close() => raw.sqlite3_finalize(handle);
}
