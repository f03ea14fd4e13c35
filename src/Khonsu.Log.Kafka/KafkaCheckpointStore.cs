using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Khonsu.Engine.Codec;

namespace Khonsu.Log.Kafka;

/// <summary>
/// Checkpoints of a Kafka log (see <see cref="KafkaLogIndex.WriteCheckpoint"/>) on partition 0 of a
/// companion topic, <c>&lt;topic&gt;.checkpoints</c>: every process can read them, so one that
/// starts for the first time also starts from the newest, and the log's retention can drop what
/// they cover. Any process may write one; the state at an offset is the same in every process, so
/// two checkpoints of the same offset are interchangeable.
/// </summary>
/// <remarks>
/// A checkpoint can be larger than Kafka's message limit (1 MB by default), so it is written as
/// parts of at most <see cref="PartSize"/> bytes, each a message keyed by the checkpoint's offset
/// whose value is <c>writer:16 bytes offset:varint part:varint parts:varint bytes</c>. One
/// writer's parts are in order (one producer, one partition); another writer's may interleave,
/// which the writer id tells apart. Only the checkpoint as a whole has a checksum.
/// </remarks>
internal sealed class KafkaCheckpointStore(KafkaLogAddress address, Func<string, ConsumerConfig> consumerConfig, Func<ProducerConfig> producerConfig, TimeSpan timeout)
    : IDisposable
{
    public const int PartSize = 512 * 1024;

    /// <summary>Messages read from the topic's end in a first look; multiplied until a whole valid checkpoint is in view.</summary>
    private const int FirstWindow = 64;

    private readonly Guid _writer = Guid.NewGuid();
    private readonly Lock _gate = new();
    private IProducer<string, byte[]>? _producer;
    private Task? _writing;

    public string Topic { get; } = address.Topic + ".checkpoints";

    /// <summary>A checkpoint as read back: its offset and bytes.</summary>
    public sealed record Stored(long Offset, byte[] Bytes);

    /// <summary>
    /// Creates the topic with one partition, when a write found it missing (brokers that create
    /// topics on first use never get here). A broker that refuses (no CreateTopics, no rights)
    /// leaves it to whoever created the log topic: the retried write then reports it.
    /// </summary>
    private async Task CreateTopicAsync()
    {
        using var admin = new AdminClientBuilder(consumerConfig("checkpoints-admin")).SetLogHandler((_, _) => { }).Build();
        try
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = -1 }],
                new CreateTopicsOptions { OperationTimeout = timeout, RequestTimeout = timeout }).ConfigureAwait(false);
        }
        catch (CreateTopicsException)
        {
            // Already there (the usual case), or refused: reading and writing say what is missing.
        }
        catch (KafkaException)
        {
            // The broker does not offer CreateTopics.
        }
    }

    /// <summary>
    /// Checkpoints from the topic's end, newest offset first; <paramref name="usable"/> says whether
    /// one is the one wanted (it decodes, and the log still holds what follows it). Looks further
    /// back while none in view is. Null when none is usable or the topic does not exist.
    /// </summary>
    public async Task<T?> ReadNewestAsync<T>(Func<Stored, T?> usable, CancellationToken cancellationToken)
        where T : class
        => await Task.Run(() => ReadNewest(usable, cancellationToken), cancellationToken).ConfigureAwait(false);

    /// <summary>A checkpoint of this process is still on its way.</summary>
    public bool Busy
    {
        get
        {
            lock (_gate)
            {
                return _writing is { IsCompleted: false };
            }
        }
    }

    /// <summary>Sends a checkpoint unless one from this process is still on its way; returns whether it was sent.</summary>
    public bool TryWrite(long offset, byte[] checkpoint, Action<string> failed)
    {
        lock (_gate)
        {
            if (_writing is { IsCompleted: false })
            {
                return false;
            }

            _producer ??= new ProducerBuilder<string, byte[]>(producerConfig()).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
            _writing = WriteAsync(_producer, offset, checkpoint, failed);
            return true;
        }
    }

    /// <summary>Waits for the checkpoint being written, if any (tests, and a clean close).</summary>
    public Task WrittenAsync()
    {
        lock (_gate)
        {
            return _writing ?? Task.CompletedTask;
        }
    }

    public void Dispose()
    {
        IProducer<string, byte[]>? producer;
        lock (_gate)
        {
            producer = _producer;
            _producer = null;
        }

        producer?.Flush(timeout);
        producer?.Dispose();
    }

    private async Task WriteAsync(IProducer<string, byte[]> producer, long offset, byte[] checkpoint, Action<string> failed, bool retried = false)
    {
        var partition = new TopicPartition(Topic, new Partition(0));
        var parts = Math.Max(1, (checkpoint.Length + PartSize - 1) / PartSize);
        var key = offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            var sends = new List<Task>(parts);
            for (var part = 0; part < parts; part++)
            {
                var header = new CodecWriter(32);
                header.WriteGuid(_writer);
                header.WriteVarInt(offset);
                header.WriteCount(part);
                header.WriteCount(parts);
                var bytes = checkpoint.AsSpan(part * PartSize, Math.Min(PartSize, checkpoint.Length - (part * PartSize)));
                var value = new byte[header.Written.Length + bytes.Length];
                header.Written.CopyTo(value);
                bytes.CopyTo(value.AsSpan(header.Written.Length));
                sends.Add(producer.ProduceAsync(partition, new Message<string, byte[]> { Key = key, Value = value }));
            }

            await Task.WhenAll(sends).ConfigureAwait(false);
        }
        catch (ProduceException<string, byte[]> error) when (error.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition && !retried)
        {
            await CreateTopicAsync().ConfigureAwait(false);
            await WriteAsync(producer, offset, checkpoint, failed, retried: true).ConfigureAwait(false);
        }
        catch (Exception error) when (error is KafkaException or ObjectDisposedException)
        {
            failed($"the checkpoint at offset {offset} could not be written to topic '{Topic}': {error.Message}");
        }
    }

    private T? ReadNewest<T>(Func<Stored, T?> usable, CancellationToken cancellationToken)
        where T : class
    {
        var partition = new TopicPartition(Topic, new Partition(0));
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(consumerConfig("checkpoints")).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        WatermarkOffsets bounds;
        try
        {
            bounds = consumer.QueryWatermarkOffsets(partition, timeout);
        }
        catch (KafkaException error) when (error.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition)
        {
            return null; // no checkpoint was ever written (librdkafka 2.x reports the missing topic locally)
        }

        var (low, high) = (bounds.Low.Value, bounds.High.Value);
        var window = (long)FirstWindow;
        var tried = new HashSet<(Guid, long)>();
        while (high > low)
        {
            var from = Math.Max(low, high - window);
            var checkpoints = Read(consumer, partition, from, high, cancellationToken);
            foreach (var (id, stored) in checkpoints.Where(c => !tried.Contains(c.Id)).OrderByDescending(c => c.Stored.Offset))
            {
                tried.Add(id);
                if (usable(stored) is { } found)
                {
                    return found;
                }
            }

            if (from == low)
            {
                return null;
            }

            window *= 8;
        }

        return null;
    }

    /// <summary>The whole checkpoints among the messages at offsets [from, until), each with its writer.</summary>
    private List<((Guid, long) Id, Stored Stored)> Read(IConsumer<Ignore, byte[]> consumer, TopicPartition partition, long from, long until, CancellationToken cancellationToken)
    {
        consumer.Assign(new TopicPartitionOffset(partition, new Offset(from)));
        var pending = new Dictionary<(Guid, long), List<byte[]>>();
        var whole = new List<((Guid, long), Stored)>();
        var deadline = DateTime.UtcNow + timeout;
        var next = from;
        while (next < until)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result?.Message is null)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new Engine.Log.CommitLogUnavailableException($"Kafka log {address}: the checkpoints in topic '{Topic}' could not be read up to offset {until} within {timeout.TotalSeconds:0.#} s (read up to {next}).");
                }

                continue;
            }

            next = result.Offset.Value + 1;
            if (!TryParsePart(result.Message.Value, out var writer, out var offset, out var part, out var parts, out var bytes))
            {
                continue; // not a part this build understands: the checkpoint it belongs to is never whole
            }

            var id = (writer, offset);
            if (part == 0)
            {
                pending[id] = [];
            }

            if (!pending.TryGetValue(id, out var list) || list.Count != part)
            {
                pending.Remove(id); // its first parts were before the window, or a part went missing
                continue;
            }

            list.Add(bytes);
            if (list.Count == parts)
            {
                pending.Remove(id);
                whole.Add((id, new Stored(offset, list.SelectMany(b => b).ToArray())));
            }
        }

        return whole;
    }

    private static bool TryParsePart(byte[] value, out Guid writer, out long offset, out int part, out int parts, out byte[] bytes)
    {
        (writer, offset, part, parts, bytes) = (default, 0, 0, 0, []);
        try
        {
            var reader = new CodecReader(value);
            writer = reader.ReadGuid();
            offset = reader.ReadVarInt();
            var (first, count) = (reader.ReadVarUInt(), reader.ReadVarUInt());
            if (first >= count || count > int.MaxValue)
            {
                return false;
            }

            (part, parts) = ((int)first, (int)count);
            bytes = value[^reader.Remaining..];
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }
}
