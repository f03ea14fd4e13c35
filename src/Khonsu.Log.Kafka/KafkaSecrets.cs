namespace Khonsu.Log.Kafka;

/// <summary>Keeps secret client settings (sasl.password, ssl.key.password, ...) out of messages.</summary>
internal static class KafkaSecrets
{
    public static bool IsSecret(string key)
        => key.Contains("password", StringComparison.OrdinalIgnoreCase)
           || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
           || key.Equals("sasl.oauthbearer.config", StringComparison.OrdinalIgnoreCase)
           || key.Equals("ssl.key.pem", StringComparison.OrdinalIgnoreCase);

    public static string Scrub(string? message, IReadOnlyDictionary<string, string> settings)
    {
        message ??= string.Empty;
        foreach (var (key, value) in settings)
        {
            if (IsSecret(key) && value.Length > 0)
            {
                message = message.Replace(value, "***", StringComparison.Ordinal);
            }
        }

        return message;
    }
}
