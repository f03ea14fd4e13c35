using Confluent.Kafka;

namespace Khonsu.Log.Kafka;

/// <summary>
/// Reads what every process of a Kafka log published on the positions topic
/// (<see cref="KafkaPositionPublisher"/>) and sets it against the log's end: `khonsu log lag` and
/// `khonsu status`. The newest message per process counts; a tombstone (a process closed cleanly)
/// removes it.
/// </summary>
internal static class KafkaLogLag
{
    /// <summary>The log's end (the offset after its last record) and each publishing process's lag, by process name.</summary>
    public static Task<(long End, IReadOnlyList<KafkaProcessLag> Processes)> ReadAsync(KafkaCommitLog log, CancellationToken cancellationToken)
        => Task.Run(() => Read(log, cancellationToken), cancellationToken);

    private static (long End, IReadOnlyList<KafkaProcessLag> Processes) Read(KafkaCommitLog log, CancellationToken cancellationToken)
    {
        var timeout = log.Options.OperationTimeout;
        using var consumer = new ConsumerBuilder<string, byte[]?>(log.ReaderConfig("lag")).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        var logPartition = new TopicPartition(log.Address.Topic, new Partition(0));
        var end = Watermarks(consumer, logPartition, timeout, log).High.Value;
        var positions = Positions(consumer, new TopicPartition(KafkaPositionPublisher.TopicOf(log.Address), new Partition(0)), timeout, log, cancellationToken);
        var now = DateTimeOffset.UtcNow;
        var lags = new List<KafkaProcessLag>();
        foreach (var position in positions.Values.OrderBy(p => p.Process, StringComparer.Ordinal))
        {
            var next = (position.Applied ?? -1) + 1;
            var behind = next < end ? Max(TimeSpan.Zero, now - TimestampAt(consumer, logPartition, next, timeout, log, cancellationToken)) : TimeSpan.Zero;
            lags.Add(new KafkaProcessLag(position, Math.Max(0, end - next), behind, Max(TimeSpan.Zero, now - position.PublishedAt)));
        }

        return (end, lags);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static WatermarkOffsets Watermarks(IConsumer<string, byte[]?> consumer, TopicPartition partition, TimeSpan timeout, KafkaCommitLog log)
    {
        try
        {
            return consumer.QueryWatermarkOffsets(partition, timeout);
        }
        catch (KafkaException error)
        {
            throw new Engine.Log.CommitLogUnavailableException($"Kafka log {log.Address}: could not read the end of topic '{partition.Topic}' within {timeout.TotalSeconds:0.#} s: {error.Error.Reason}", error);
        }
    }

    /// <summary>The newest position of each process still publishing (tombstones remove); empty when no process ever published.</summary>
    private static Dictionary<string, KafkaProcessPosition> Positions(IConsumer<string, byte[]?> consumer, TopicPartition partition, TimeSpan timeout, KafkaCommitLog log, CancellationToken cancellationToken)
    {
        var newest = new Dictionary<string, KafkaProcessPosition>(StringComparer.Ordinal);
        WatermarkOffsets bounds;
        try
        {
            bounds = consumer.QueryWatermarkOffsets(partition, timeout);
        }
        catch (KafkaException error) when (error.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition)
        {
            return newest;
        }

        consumer.Assign(new TopicPartitionOffset(partition, bounds.Low));
        var deadline = DateTime.UtcNow + timeout;
        for (var next = bounds.Low.Value; next < bounds.High.Value;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result?.Message is null)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new Engine.Log.CommitLogUnavailableException($"Kafka log {log.Address}: the positions in topic '{partition.Topic}' could not be read up to offset {bounds.High.Value} within {timeout.TotalSeconds:0.#} s (read up to {next}).");
                }

                continue;
            }

            next = result.Offset.Value + 1;
            if (result.Message.Key is not { } process)
            {
                continue;
            }

            if (result.Message.Value is { } value && KafkaProcessPosition.TryDecode(process, value) is { } position)
            {
                newest[process] = position;
            }
            else
            {
                newest.Remove(process); // a tombstone (closed), or a format this build does not read
            }
        }

        return newest;
    }

    /// <summary>When the record at <paramref name="offset"/> was appended (its Kafka timestamp).</summary>
    private static DateTimeOffset TimestampAt(IConsumer<string, byte[]?> consumer, TopicPartition partition, long offset, TimeSpan timeout, KafkaCommitLog log, CancellationToken cancellationToken)
    {
        consumer.Assign(new TopicPartitionOffset(partition, new Offset(offset)));
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: { } message })
            {
                return message.Timestamp.UtcDateTime;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new Engine.Log.CommitLogUnavailableException($"Kafka log {log.Address}: the record at offset {offset} could not be read within {timeout.TotalSeconds:0.#} s.");
            }
        }
    }
}
