using System.Collections.Concurrent;

namespace Khonsu.Data.Configuration;

/// <summary>
/// Checks a connection string when it is set on a connection, as Npgsql and Microsoft.Data.Sqlite
/// do, so that a bad key fails where it is written rather than at the first Open. What is valid is
/// remembered: an application sets the same few strings on every connection it creates.
/// </summary>
internal static class ConnectionStringCheck
{
    private const int Remembered = 256;
    private static readonly ConcurrentDictionary<string, bool> Valid = new(StringComparer.Ordinal);

    /// <summary>Throws an ArgumentException naming what is wrong (never the value, which may hold a password); an empty string is left for Open to refuse.</summary>
    public static void ThrowIfInvalid(string? connectionString, string parameterName)
    {
        if (string.IsNullOrWhiteSpace(connectionString) || Valid.ContainsKey(connectionString))
        {
            return;
        }

        try
        {
            KhonsuConnectionStringParser.Parse(connectionString);
        }
        catch (KhonsuException e)
        {
            throw new ArgumentException(e.Message, parameterName, e);
        }

        if (Valid.Count < Remembered)
        {
            Valid.TryAdd(connectionString, true);
        }
    }
}
