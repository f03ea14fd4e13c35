namespace Khonsu.Data.Routing;

/// <summary>
/// A table named by a statement. Unquoted names are folded to lower case, as both SQLite and
/// PostgreSQL treat them; quoted names keep their case.
/// </summary>
internal readonly record struct TableReference(string? Schema, string Name, bool Quoted);
