namespace Khonsu.Data.Backends;

/// <summary>Settings from the Khonsu connection string that every backend honours.</summary>
/// <param name="VersionColumn">Name of the row-version column.</param>
/// <param name="NodeId">This process's name in the log.</param>
/// <param name="LockTimeout">How long a transaction spanning several backends waits for a lock.</param>
/// <param name="DatabaseSerializable">
/// Run participants at the database's own SERIALIZABLE level where it has one (PostgreSQL), on top
/// of Khonsu's validation and certification; otherwise at snapshot isolation (REPEATABLE READ).
/// </param>
/// <param name="AppendTables">
/// The tables configured with the Append policy (<c>Conflict.&lt;table&gt;=Append</c>), as named
/// there: only these get the trigger that gives a conflicting insert a new key.
/// </param>
public sealed record KhonsuBackendOptions(
    string VersionColumn, string NodeId, TimeSpan LockTimeout, bool DatabaseSerializable = false, IReadOnlyCollection<string>? AppendTables = null)
{
    /// <summary>Whether the Append policy is configured for the table, named alone or with its schema.</summary>
    public bool AppendsTo(string? schema, string table)
        => AppendTables is { } names && names.Any(name =>
            name.Equals(table, StringComparison.OrdinalIgnoreCase) || (schema is not null && name.Equals($"{schema}.{table}", StringComparison.OrdinalIgnoreCase)));
}
