using SQLitePCL;

namespace Khonsu.Engine.Log.Embedded;

/// <summary>A prepared statement of a <see cref="RawSqlite"/> handle; parameters are 1-based, columns 0-based.</summary>
internal sealed class RawStatement(RawSqlite owner, sqlite3_stmt handle) : IDisposable
{
    public RawStatement Bind(int index, object? value)
    {
        var rc = value switch
        {
            null => raw.sqlite3_bind_null(handle, index),
            long number => raw.sqlite3_bind_int64(handle, index, number),
            int number => raw.sqlite3_bind_int64(handle, index, number),
            string text => raw.sqlite3_bind_text(handle, index, text),
            byte[] blob => raw.sqlite3_bind_blob(handle, index, blob),
            _ => throw new ArgumentException($"Cannot bind a {value.GetType().Name}.", nameof(value)),
        };
        owner.Check(rc, "bind");
        return this;
    }

    /// <summary>Steps once; true while there is a row.</summary>
    public bool Step()
    {
        var rc = raw.sqlite3_step(handle);
        owner.Check(rc, raw.sqlite3_sql(handle).utf8_to_string());
        return rc == raw.SQLITE_ROW;
    }

    public void Run()
    {
        while (Step())
        {
        }
    }

    public long Int64(int column) => raw.sqlite3_column_int64(handle, column);

    public bool IsNull(int column) => raw.sqlite3_column_type(handle, column) == raw.SQLITE_NULL;

    public string Text(int column) => raw.sqlite3_column_text(handle, column).utf8_to_string();

    public byte[] Blob(int column) => raw.sqlite3_column_blob(handle, column).ToArray();

    public void Reset()
    {
        raw.sqlite3_reset(handle);
        raw.sqlite3_clear_bindings(handle);
    }

    public void Dispose() => handle.Dispose();
}
