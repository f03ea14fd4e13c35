namespace Khonsu.Data.Backends;

/// <summary>
/// A table a backend owns. <paramref name="KeyColumns"/> identify a row (the primary key, or
/// SQLite's rowid); <paramref name="HasVersionColumn"/> says whether Khonsu tracks it.
/// </summary>
public sealed record TableInfo(string? Schema, string Name, IReadOnlyList<string> KeyColumns, bool HasVersionColumn)
{
    /// <summary>Whether Khonsu's triggers are installed on the table, so installing again can leave it alone.</summary>
    public bool HasKhonsuTriggers { get; init; }
}
