using System.Data.Common;

namespace Khonsu.Data.Runtime;

/// <summary>Keeps passwords out of messages that quote an inner provider's error.</summary>
internal static class SecretScrubber
{
    private static readonly string[] SecretKeys = ["password", "pwd", "passfile", "sslpassword", "ssl password"];

    public static string Scrub(string message, string connectionString)
    {
        DbConnectionStringBuilder builder;
        try
        {
            builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException)
        {
            return message;
        }

        foreach (var key in SecretKeys)
        {
            if (builder.TryGetValue(key, out var value) && value is string secret && secret.Length > 0)
            {
                message = message.Replace(secret, "***", StringComparison.Ordinal);
            }
        }

        return message;
    }
}
