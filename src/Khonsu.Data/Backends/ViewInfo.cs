namespace Khonsu.Data.Backends;

/// <summary>
/// A view (or PostgreSQL materialized view) a backend owns. Routing sends a statement that names
/// it to that backend; the certifier never takes it for a table: what it reads is unknown (the
/// whole backend) unless the database's parser names its base tables.
/// </summary>
public sealed record ViewInfo(string? Schema, string Name);
