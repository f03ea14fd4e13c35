namespace Khonsu.Data.Postgres;

/// <summary>Quoting and names for the SQL Khonsu generates on PostgreSQL.</summary>
internal static class PostgresSql
{
    public const string Schema = "khonsu";
    public const string GidPrefix = "khonsu:";

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    public static string Qualified(string? schema, string name) => schema is null ? Quote(name) : Quote(schema) + "." + Quote(name);

    /// <summary>The global id of a Khonsu transaction prepared on PostgreSQL, as pg_prepared_xacts shows it.</summary>
    public static string Gid(Khonsu.Engine.TransactionId id) => GidPrefix + id;
}
