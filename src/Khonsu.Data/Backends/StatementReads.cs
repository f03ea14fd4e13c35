namespace Khonsu.Data.Backends;

/// <summary>
/// The tables a statement reads as the database's own parser sees them (through views, and on
/// backends that see them, inside the triggers it fires), for the certifier's read set.
/// </summary>
/// <param name="Tables">Each table read, with its schema (or SQLite database) when known; Khonsu's own tables left out.</param>
/// <param name="ReadsAnything">
/// The statement also runs something the parser cannot see into (a user function on PostgreSQL):
/// it may read any table of the backend.
/// </param>
public sealed record StatementReads(IReadOnlyList<(string? Schema, string Name)> Tables, bool ReadsAnything = false);
