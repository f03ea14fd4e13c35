using System.Globalization;

namespace Khonsu.Log.Kafka;

/// <summary>Where the Kafka commit log is and how its clients talk to the brokers.</summary>
public sealed record KafkaCommitLogOptions
{
    /// <summary>The default for <see cref="OperationTimeout"/>; <c>message.timeout.ms</c> overrides it.</summary>
    public static readonly TimeSpan DefaultOperationTimeout = TimeSpan.FromSeconds(10);

    public required KafkaLogAddress Address { get; init; }

    /// <summary>
    /// librdkafka settings passed to both clients as they are (security.protocol, sasl.*, ssl.*,
    /// ...), after Khonsu's own, so they can override them. The settings that make the log a log
    /// (enable.idempotence, acks) cannot be overridden.
    /// </summary>
    public IReadOnlyDictionary<string, string> ClientSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>The name of this process, sent as client.id so broker logs tell processes apart.</summary>
    public string? NodeId { get; init; }

    /// <summary>
    /// How long an append, or a read of the log's end, may take before it fails with
    /// <see cref="Engine.Log.CommitLogUnavailableException"/>: the producer's message.timeout.ms,
    /// and the bound on every wait for the broker, so that nothing waits forever on a dead broker.
    /// </summary>
    public TimeSpan OperationTimeout
        => ClientSettings.TryGetValue("message.timeout.ms", out var value)
            && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds > 0
                ? TimeSpan.FromMilliseconds(milliseconds)
                : DefaultOperationTimeout;
}
