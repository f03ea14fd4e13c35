namespace Khonsu.Data.Configuration;

/// <summary>The value of a <c>Follow.&lt;backend&gt;</c> key: the tables of that backend a mirror follows.</summary>
internal static class FollowedTables
{
    /// <summary>
    /// Table names separated by commas, each plain or qualified by its schema (<c>accounts</c>,
    /// <c>public.accounts</c>); at least one.
    /// </summary>
    public static IReadOnlyList<string> Parse(string key, string value)
    {
        var tables = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (tables.Length == 0)
        {
            throw new KhonsuException($"Key '{key}' must name the tables a mirror follows, separated by commas, e.g. {key}=accounts,orders.");
        }

        foreach (var table in tables)
        {
            var parts = table.Split('.');
            if (parts.Length > 2 || parts.Any(p => p.Length == 0 || p.Any(c => char.IsWhiteSpace(c) || c == '"')))
            {
                throw new KhonsuException($"Key '{key}': '{table}' is not a table name (a name, or schema.name, without quotes or spaces).");
            }
        }

        return tables;
    }
}
