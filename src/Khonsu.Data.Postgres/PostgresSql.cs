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

    /// <summary>
    /// Suffix of a Replace branch's local id (the capture trigger's khonsu.tx_id and the
    /// applied-marker) and gid: "khonsu:&lt;tx id&gt;/r", decided with the transaction's own gid.
    /// </summary>
    public const string BranchSuffix = "/r";

    public static string BranchGid(Khonsu.Engine.TransactionId id) => Gid(id) + BranchSuffix;

    /// <summary>The transaction a Khonsu gid belongs to (its own or its Replace branch's), if it is one.</summary>
    public static bool TryParseGid(string gid, out Khonsu.Engine.TransactionId id)
    {
        id = default;
        if (!gid.StartsWith(GidPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var text = gid[GidPrefix.Length..];
        return Khonsu.Engine.TransactionId.TryParse(text.EndsWith(BranchSuffix, StringComparison.Ordinal) ? text[..^BranchSuffix.Length] : text, out id);
    }
}
