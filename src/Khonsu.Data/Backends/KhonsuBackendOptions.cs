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
    /// <summary>
    /// The tables of this backend a mirror follows (<c>Follow.&lt;backend&gt;</c>), as named there:
    /// their writes carry row images into the commit log and never commit in one phase.
    /// </summary>
    public IReadOnlyCollection<string> FollowedTables { get; init; } = [];

    /// <summary>Whether a mirror follows the table, named alone or with its schema.</summary>
    public bool Follows(string? schema, string table) => Names(FollowedTables, schema, table);

    /// <summary>Whether a mirror follows the table a statement names (plain or schema-qualified, as the router reports it).</summary>
    public bool Follows(string name)
    {
        var dot = name.LastIndexOf('.');
        return dot < 0 ? Follows(null, name) : Follows(name[..dot], name[(dot + 1)..]);
    }

    /// <summary>Whether the Append policy is configured for the table, named alone or with its schema.</summary>
    public bool AppendsTo(string? schema, string table)
        => AppendTables is { } names && Names(names, schema, table);

    private static bool Names(IEnumerable<string> names, string? schema, string table)
        => names.Any(name =>
            name.Equals(table, StringComparison.OrdinalIgnoreCase) || (schema is not null && name.Equals($"{schema}.{table}", StringComparison.OrdinalIgnoreCase)));
}
