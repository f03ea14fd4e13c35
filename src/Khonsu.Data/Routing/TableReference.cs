namespace Khonsu.Data.Routing;

/// <summary>
/// A table named by a statement. Unquoted names are folded to lower case, as both SQLite and
/// PostgreSQL treat them; quoted names keep their case and have <paramref name="Quoted"/> set.
/// </summary>
/// <param name="Schema">The schema (or SQLite database) qualifying the name, if any.</param>
/// <param name="Name">The table name, without quotes.</param>
/// <param name="Quoted">Whether the name was written as a quoted identifier.</param>
internal readonly record struct TableReference(string? Schema, string Name, bool Quoted);
