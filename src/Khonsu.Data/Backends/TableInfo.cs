namespace Khonsu.Data.Backends;

/// <summary>
/// A table a backend owns. <paramref name="KeyColumns"/> identify a row (the primary key, or
/// SQLite's rowid); <paramref name="HasVersionColumn"/> says whether Khonsu tracks it.
/// </summary>
public sealed record TableInfo(string? Schema, string Name, IReadOnlyList<string> KeyColumns, bool HasVersionColumn)
{
    /// <summary>Whether Khonsu's triggers are installed on the table, so installing again can leave it alone.</summary>
    public bool HasKhonsuTriggers { get; init; }

    /// <summary>
    /// The key is one column whose values the database generates (PostgreSQL: an identity column,
    /// or a default drawing from a sequence or <c>gen_random_uuid()</c>), so that an insert that
    /// meets a concurrent insert of the same key can be given a new one (the Append policy).
    /// </summary>
    public bool KeyIsGenerated { get; init; }

    /// <summary>The name of the primary key's constraint, as the database reports it in a duplicate-key error; null where it has none.</summary>
    public string? KeyConstraint { get; init; }
}
