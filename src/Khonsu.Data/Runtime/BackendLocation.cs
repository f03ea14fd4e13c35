using System.Data.Common;

namespace Khonsu.Data.Runtime;

/// <summary>Where a backend is, from its inner connection string, with only the keys that are safe to print.</summary>
internal static class BackendLocation
{
    // Keys of an inner connection string that say where a database is; never credentials.
    private static readonly string[] LocationKeys = ["data source", "datasource", "filename", "host", "server", "port", "database"];

    /// <summary>E.g. "host=db1;port=5432;database=shop" or "data source=/srv/ledger.db"; "?" when the string cannot be read.</summary>
    public static string Of(string connectionString)
    {
        DbConnectionStringBuilder builder;
        try
        {
            builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException)
        {
            return "?";
        }

        var parts = LocationKeys
            .Where(key => builder.TryGetValue(key, out var value) && value is string { Length: > 0 })
            .Select(key => $"{key}={builder[key]}");
        return string.Join(";", parts);
    }
}
