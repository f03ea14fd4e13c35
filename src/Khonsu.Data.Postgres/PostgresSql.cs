namespace Khonsu.Data.Postgres;

/// <summary>Quoting and names for the SQL Khonsu generates on PostgreSQL.</summary>
internal static class PostgresSql
{
    public const string Schema = "khonsu";
    public const string GidPrefix = "khonsu:";

    /// <summary>
    /// The session setting that tells the capture trigger a connection is Khonsu's: set at
    /// connection start (startup parameter <c>options</c>), so it costs no round trip and survives
    /// the pool's reset (RESET ALL returns to the startup value).
    /// </summary>
    public const string CaptureSetting = "khonsu.capture";

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    public static string Qualified(string? schema, string name) => schema is null ? Quote(name) : Quote(schema) + "." + Quote(name);

    /// <summary>
    /// The global id of a Khonsu transaction prepared on PostgreSQL, as pg_prepared_xacts shows it:
    /// "khonsu:&lt;log tag&gt;:&lt;tx id&gt;" (63 bytes, PostgreSQL allows 200), so that recovery
    /// settles only its own log's prepared transactions (a database belongs to one log, and this
    /// holds even if two logs ever met on one). Without a log: "khonsu:&lt;tx id&gt;", the form
    /// builds before logs were told apart wrote, still recognised.
    /// </summary>
    /// <param name="logTag">The governing log's <see cref="Khonsu.Engine.Log.LogIdentity.Tag"/>, or null.</param>
    public static string Gid(string? logTag, Khonsu.Engine.TransactionId id) => logTag is null ? GidPrefix + id : $"{GidPrefix}{logTag}:{id}";

    /// <summary>
    /// Suffix of a Replace branch's local id (the capture trigger's khonsu.tx_id and the
    /// applied-marker) and gid: "khonsu:&lt;log tag&gt;:&lt;tx id&gt;/r", decided with the transaction's own gid.
    /// </summary>
    public const string BranchSuffix = "/r";

    public static string BranchGid(string? logTag, Khonsu.Engine.TransactionId id) => Gid(logTag, id) + BranchSuffix;

    /// <summary>
    /// The transaction a Khonsu gid belongs to (its own or its Replace branch's), if it is one, and
    /// the tag of the log it was prepared under (null for a gid that names no log).
    /// </summary>
    public static bool TryParseGid(string gid, out string? logTag, out Khonsu.Engine.TransactionId id)
    {
        (logTag, id) = (null, default);
        if (!gid.StartsWith(GidPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var text = gid[GidPrefix.Length..];
        if (text.EndsWith(BranchSuffix, StringComparison.Ordinal))
        {
            text = text[..^BranchSuffix.Length];
        }

        // A transaction id (a UUID) has no colon: one before it ends the log's tag.
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            logTag = text[..colon];
            text = text[(colon + 1)..];
        }

        return Khonsu.Engine.TransactionId.TryParse(text, out id);
    }
}
