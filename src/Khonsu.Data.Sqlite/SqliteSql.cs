namespace Khonsu.Data.Sqlite;

/// <summary>Quoting for identifiers and literals Khonsu puts into SQL it generates.</summary>
internal static class SqliteSql
{
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
}
