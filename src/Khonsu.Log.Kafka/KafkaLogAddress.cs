namespace Khonsu.Log.Kafka;

/// <summary>A parsed <c>kafka://host:port[,host:port]/topic</c>.</summary>
internal sealed record KafkaLogAddress(string BootstrapServers, string Topic)
{
    public const string Scheme = "kafka";

    private const int MaxTopicLength = 249; // Kafka's own limit

    /// <exception cref="ArgumentException">The address is not of that form.</exception>
    public static KafkaLogAddress Parse(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        const string prefix = Scheme + "://";
        if (!address.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"A Kafka log address looks like kafka://host:port[,host:port]/topic; '{address}' does not start with kafka://.", nameof(address));
        }

        var rest = address[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1)
        {
            throw new ArgumentException($"A Kafka log address looks like kafka://host:port[,host:port]/topic; '{address}' lacks the brokers or the topic.", nameof(address));
        }

        var brokers = rest[..slash].Split(',', StringSplitOptions.TrimEntries);
        foreach (var broker in brokers)
        {
            var colon = broker.LastIndexOf(':');
            if (colon <= 0 || !ushort.TryParse(broker[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port == 0)
            {
                throw new ArgumentException($"Kafka log address '{address}': broker '{broker}' is not host:port.", nameof(address));
            }
        }

        var topic = rest[(slash + 1)..];
        if (topic.Length > MaxTopicLength || topic is "." or ".." || !topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new ArgumentException($"Kafka log address '{address}': topic '{topic}' is not a valid Kafka topic name (letters, digits, '.', '_', '-', at most {MaxTopicLength}).", nameof(address));
        }

        return new KafkaLogAddress(string.Join(',', brokers), topic);
    }

    public override string ToString() => $"{Scheme}://{BootstrapServers}/{Topic}";
}
