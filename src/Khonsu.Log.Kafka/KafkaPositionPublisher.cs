using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Khonsu.Log.Kafka;

/// <summary>
/// Publishes this process's <see cref="KafkaProcessPosition"/> (applied offset, checkpoint) on
/// partition 0 of the companion topic <c>&lt;topic&gt;.positions</c>, keyed by its node id: at
/// open, then every <see cref="KafkaCommitLogOptions.PositionInterval"/>, and a tombstone (null
/// value) at a clean close, so that <c>khonsu log lag</c> lists the live processes. A compacted
/// topic keeps one message per process: every process and the CLI can read it with the log's
/// own client settings, and nothing is written to the application's databases (docs/kafka-log.md,
/// "Operating it"). Publishing is best effort: a failure is retried at the next tick and never
/// touches the log itself.
/// </summary>
internal sealed class KafkaPositionPublisher : IAsyncDisposable
{
    private readonly KafkaCommitLogOptions _options;
    private readonly Func<KafkaProcessPosition> _position;
    private readonly ProducerConfig _producerConfig;
    private readonly Func<string, ConsumerConfig> _consumerConfig;
    private readonly CancellationTokenSource _stop = new();
    private IProducer<string, byte[]?>? _producer;
    private Task _loop = Task.CompletedTask;
    private bool _topicCreated;

    public KafkaPositionPublisher(KafkaCommitLogOptions options, Func<KafkaProcessPosition> position, ProducerConfig producerConfig, Func<string, ConsumerConfig> consumerConfig)
    {
        _options = options;
        _position = position;
        _producerConfig = producerConfig;
        _consumerConfig = consumerConfig;
        Topic = TopicOf(options.Address);
    }

    public string Topic { get; }

    /// <summary>The positions topic of a log.</summary>
    public static string TopicOf(KafkaLogAddress address) => address.Topic + ".positions";

    /// <summary>Publishes once now, then every interval in the background (unless the interval is 0: publishes nothing).</summary>
    public void Start()
    {
        if (_options.PositionInterval <= TimeSpan.Zero)
        {
            return;
        }

        _producer = new ProducerBuilder<string, byte[]?>(_producerConfig).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_options.PositionInterval);
        do
        {
            await PublishAsync(_position().Encode()).ConfigureAwait(false);
        }
        while (await WaitAsync(timer).ConfigureAwait(false));
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task PublishAsync(byte[] value)
    {
        var message = new Message<string, byte[]?> { Key = _position().Process, Value = value };
        try
        {
            await _producer!.ProduceAsync(new TopicPartition(Topic, new Partition(0)), message).ConfigureAwait(false);
        }
        catch (ProduceException<string, byte[]?> error) when (error.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition && !_topicCreated)
        {
            _topicCreated = true;
            await CreateTopicAsync().ConfigureAwait(false); // the next tick publishes again
        }
        catch (Exception error) when (error is KafkaException or ObjectDisposedException)
        {
            // Best effort: the brokers are away (the next tick tries again), or the log is closing.
        }
    }

    /// <summary>Compacted, one partition: one message per process survives (brokers that create topics on first use never get here).</summary>
    private async Task CreateTopicAsync()
    {
        using var admin = new AdminClientBuilder(_consumerConfig("positions-admin")).SetLogHandler((_, _) => { }).Build();
        try
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = -1, Configs = new Dictionary<string, string> { ["cleanup.policy"] = "compact" } }],
                new CreateTopicsOptions { OperationTimeout = _options.OperationTimeout, RequestTimeout = _options.OperationTimeout }).ConfigureAwait(false);
        }
        catch (KafkaException)
        {
            // Already there, refused, or no CreateTopics: publishing keeps trying.
        }
    }

    /// <summary>
    /// Stops publishing and leaves a tombstone (a process that closed is not lagging), waiting at
    /// most <see cref="CloseWait"/> for it: a close while the brokers are away is not held up for
    /// long by what is only a courtesy to `khonsu log lag`.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        var wait = CloseWait(_options.OperationTimeout);
        try
        {
            await _loop.WaitAsync(wait).ConfigureAwait(false); // a position on its way to brokers that are away
        }
        catch (TimeoutException)
        {
        }

        if (_producer is { } producer)
        {
            try
            {
                producer.Produce(new TopicPartition(Topic, new Partition(0)), new Message<string, byte[]?> { Key = _position().Process, Value = null });
            }
            catch (KafkaException)
            {
                // The local queue is full (brokers away a long time): no tombstone; the entry goes stale.
            }

            await Task.Run(() => producer.Flush(wait)).ConfigureAwait(false);
            producer.Dispose();
        }

        _stop.Dispose();
    }

    /// <summary>How long closing waits for the last messages: the operation timeout, at most one second.</summary>
    private static TimeSpan CloseWait(TimeSpan operationTimeout) => operationTimeout < TimeSpan.FromSeconds(1) ? operationTimeout : TimeSpan.FromSeconds(1);
}
