using System.Globalization;

namespace Khonsu.Log.Kafka;

/// <summary>Where the Kafka commit log is and how its clients talk to the brokers.</summary>
internal sealed record KafkaCommitLogOptions
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

    /// <summary>Setting (<c>Kafka.CheckpointInterval</c>): write a checkpoint every this many records; 0 writes none.</summary>
    public const string CheckpointIntervalKey = "CheckpointInterval";

    /// <summary>Setting (<c>Kafka.CheckpointSeconds</c>): also write one when this long passed since the last and records came; 0 turns that off.</summary>
    public const string CheckpointSecondsKey = "CheckpointSeconds";

    /// <summary>Setting (<c>Kafka.PositionSeconds</c>): publish this process's position (applied offset, checkpoint) this often; 0 publishes none.</summary>
    public const string PositionSecondsKey = "PositionSeconds";

    /// <summary>The default of <see cref="PositionInterval"/>.</summary>
    public static readonly TimeSpan DefaultPositionInterval = TimeSpan.FromSeconds(5);

    /// <summary>How often this process publishes its position on the positions topic (<see cref="KafkaPositionPublisher"/>); zero: never.</summary>
    public TimeSpan PositionInterval => TimeSpan.FromSeconds(Setting(PositionSecondsKey, (long)DefaultPositionInterval.TotalSeconds));

    /// <summary>The default of <see cref="CheckpointInterval"/> (see docs/kafka-log.md for how it was chosen).</summary>
    public const int DefaultCheckpointInterval = 10_000;

    /// <summary>The default of <see cref="CheckpointMaxAge"/>.</summary>
    public static readonly TimeSpan DefaultCheckpointMaxAge = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long the index remembers outcomes, and the age past which a commit record is refused:
    /// part of the verdict function, the same in every process; only tests and the soak benchmark
    /// shorten it (see <see cref="Kafka.OutcomeLimits"/>).
    /// </summary>
    internal OutcomeLimits OutcomeLimits { get; init; } = OutcomeLimits.Default;

    /// <summary>The name of this process, sent as client.id so broker logs tell processes apart.</summary>
    public string? NodeId { get; init; }

    /// <summary>Told what went wrong with a checkpoint that was skipped or could not be written (never fatal: the log reads on).</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>Records between two checkpoints this process writes (at offsets K-1, 2K-1, ...: the same in every process); 0 writes none.</summary>
    /// <exception cref="ArgumentException">The setting is not a whole number of at least 0.</exception>
    public int CheckpointInterval => (int)Setting(CheckpointIntervalKey, DefaultCheckpointInterval);

    /// <summary>A checkpoint is also written at the first record applied this long after the last one (0: never by time).</summary>
    public TimeSpan CheckpointMaxAge => TimeSpan.FromSeconds(Setting(CheckpointSecondsKey, (long)DefaultCheckpointMaxAge.TotalSeconds));

    /// <summary>What goes to librdkafka: the client settings less Khonsu's own (the checkpoint ones).</summary>
    internal IEnumerable<KeyValuePair<string, string>> LibrdkafkaSettings
        => ClientSettings.Where(setting => !IsKhonsuSetting(setting.Key));

    internal static bool IsKhonsuSetting(string key)
        => key.Equals(CheckpointIntervalKey, StringComparison.OrdinalIgnoreCase) || key.Equals(CheckpointSecondsKey, StringComparison.OrdinalIgnoreCase)
           || key.Equals(PositionSecondsKey, StringComparison.OrdinalIgnoreCase);

    private long Setting(string key, long fallback)
    {
        var found = ClientSettings.FirstOrDefault(setting => setting.Key.Equals(key, StringComparison.OrdinalIgnoreCase));
        if (found.Key is null)
        {
            return fallback;
        }

        return int.TryParse(found.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"Kafka setting '{key}' must be a whole number of at least 0, not '{found.Value}'.", nameof(ClientSettings));
    }

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
