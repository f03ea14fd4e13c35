using System.Globalization;
using System.Runtime.CompilerServices;
using Confluent.Kafka;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.SharedLog;

namespace Khonsu.Log.Kafka;

/// <summary>
/// The commit log on partition 0 of one Kafka topic, shared by every process of an application.
/// A record's offset is its <see cref="LogPosition"/>, so the partition's order is the commit
/// order; its key is the transaction id (readable with kcat) and its value the
/// <see cref="LogRecordCodec"/> bytes (version byte, CRC32C).
/// </summary>
/// <remarks>
/// Writes go through an idempotent producer (acks=all, linger 0, up to 5 requests in flight), so
/// concurrent appends pipeline and a retried request is never written twice. A tail consumer reads
/// the partition into a <see cref="KafkaLogIndex"/>, from its start or from the newest checkpoint
/// (<see cref="KafkaCheckpointStore"/>, docs/kafka-log.md "Checkpoints"); an append returns once the
/// broker acknowledged it and the index has applied the log up to it, with the transaction's first
/// decision as of that offset: every process that reads the same partition reaches the same verdict.
/// The appended record itself is applied from what was sent once the records before it are
/// (<see cref="KafkaLogApplier"/>), not fetched back: a commit costs one produce round trip.
/// Reads (GetDecision, ReadUnfinished, ReadFrom) first catch up with the partition's end as the
/// broker reports it now, so they never answer from a stale index. Every wait on the broker is
/// bounded by <see cref="KafkaCommitLogOptions.OperationTimeout"/> and fails with
/// <see cref="CommitLogUnavailableException"/>; librdkafka reconnects by itself meanwhile.
/// Kafka transactions are deliberately not used: the log record itself is the commit point.
/// </remarks>
internal sealed class KafkaCommitLog : ISharedCommitLog
{
    private const int Partition = 0;

    private readonly KafkaCommitLogOptions _options;
    private readonly TopicPartition _partition;
    private readonly KafkaCheckpointStore _checkpoints;
    private readonly KafkaLogApplier _applier;
    private readonly KafkaPositionPublisher _position;
    private KafkaLogIndex _index;
    private long _lastCheckpointOffset = -1;
    private long _lastCheckpointAt = System.Diagnostics.Stopwatch.GetTimestamp();
    private int _checkpointsWritten;
    private readonly IConsumer<string, byte[]> _tail;
    private IConsumer<Ignore, Ignore> _watermarks;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _producerGate = new();
    private readonly Thread _tailThread;
    private IProducer<string, byte[]> _producer;
    private Task<WatermarkOffsets>? _watermarkQuery;
    private volatile string? _lastClientError;
    private LogIdentity? _identity;
    private int _disposed;

    private KafkaCommitLog(KafkaCommitLogOptions options)
    {
        _options = options;
        _partition = new TopicPartition(options.Address.Topic, new Partition(Partition));
        _index = new KafkaLogIndex(options.OutcomeLimits);
        _applier = new KafkaLogApplier(() => _index, MaybeWriteCheckpoint);
        _checkpoints = new KafkaCheckpointStore(options.Address, ConsumerConfig, () => new ProducerConfig(BaseConfig(options, "checkpoints")) { Acks = Acks.All, LingerMs = 5 }, options.OperationTimeout);
        _producer = BuildProducer();
        _position = new KafkaPositionPublisher(options, Position, new ProducerConfig(BaseConfig(options, "positions")) { Acks = Acks.All, MessageTimeoutMs = (int)options.OperationTimeout.TotalMilliseconds }, ConsumerConfig);
        _watermarks = BuildWatermarkClient();
        _tail = new ConsumerBuilder<string, byte[]>(ConsumerConfig("tail"))
            .SetErrorHandler((_, error) => NoteClientError(error))
            .SetLogHandler((_, _) => { })
            .Build();
        // A thread of its own: Consume blocks in librdkafka, and must not hold a pool thread.
        _tailThread = new Thread(Tail) { IsBackground = true, Name = $"Khonsu Kafka log tail ({options.Address.Topic})" };
    }

    public KafkaLogAddress Address => _options.Address;

    /// <summary>
    /// The log's identity: "kafka:&lt;cluster id&gt;/&lt;topic&gt;". Processes may list the brokers
    /// differently, so the brokers are not part of it; the cluster id, which the brokers report, tells
    /// two clusters with a topic of the same name apart (see <see cref="KafkaClusterId"/>).
    /// </summary>
    public LogIdentity Identity => _identity ?? throw new InvalidOperationException("The Kafka commit log is not open.");

    /// <summary>Certifies every commit record in offset order as the tail reads it (see <see cref="ISharedCommitLog"/>).</summary>
    public LogOrderCertifier Certifier => _index.Certifier;

    /// <summary>Where opening started reading the log, and how much of it it read (see docs/kafka-log.md, "Checkpoints").</summary>
    public KafkaLogOpening Opening { get; private set; } = new(null, 0, TimeSpan.Zero);

    /// <summary>Checkpoints this process has sent to the checkpoints topic.</summary>
    public int CheckpointsWritten => Volatile.Read(ref _checkpointsWritten);

    /// <summary>The last checkpoint this process sent: its offset, size in bytes, and how long taking it held the tail (for measurements).</summary>
    public (long Offset, int Bytes, TimeSpan Took)? LastCheckpoint { get; private set; }

    /// <summary>The topic that holds the log's checkpoints.</summary>
    public string CheckpointTopic => _checkpoints.Topic;

    /// <summary>Waits until the checkpoint this process is writing, if any, is acknowledged (or failed and was reported).</summary>
    public Task CheckpointWrittenAsync() => _checkpoints.WrittenAsync();

    /// <summary>
    /// Connects to the brokers, loads the newest usable checkpoint (if any) and reads the partition
    /// from the record after it (or from offset 0), so that the log answers decisions for everything
    /// already in it. The topic must exist (librdkafka 2.x does not have brokers create it on a read); only its
    /// partition 0 is used.
    /// </summary>
    /// <exception cref="CommitLogUnavailableException">The brokers did not answer within the operation timeout.</exception>
    /// <exception cref="CommitLogTruncatedException">Retention deleted records that no checkpoint covers.</exception>
    /// <exception cref="InvalidOperationException">The bundled librdkafka could not be loaded (see <see cref="KafkaNative"/>).</exception>
    public static async Task<KafkaCommitLog> OpenAsync(KafkaCommitLogOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        KafkaNative.EnsureLoaded();
        ValidateSettings(options.ClientSettings);

        var log = new KafkaCommitLog(options);
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var start = await log.LoadCheckpointAsync(cancellationToken).ConfigureAwait(false);
            log._tail.Assign(new TopicPartitionOffset(log._partition, new Offset(start)));
            log._tailThread.Start();
            await log.CatchUpAsync(cancellationToken).ConfigureAwait(false);
            log._identity = await log.ReadIdentityAsync(cancellationToken).ConfigureAwait(false);
            log.Opening = new KafkaLogOpening(start == 0 ? null : start - 1, log._index.Next - start, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            Engine.Diagnostics.KhonsuTelemetry.TrackSharedLog(log, () => log._index.Size.Remembered);
            log._position.Start();
            return log;
        }
        catch
        {
            await log.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<LogIdentity> ReadIdentityAsync(CancellationToken cancellationToken)
    {
        var settings = BaseConfig(_options, "producer");
        settings["client.id"] = settings["client.id"].Replace("-producer", "-cluster-id", StringComparison.Ordinal);
        var clusterId = await Task.Run(() => KafkaClusterId.Query(settings, _options.OperationTimeout), cancellationToken).ConfigureAwait(false)
            ?? throw Unavailable($"the brokers did not report the cluster's id within {Seconds(_options.OperationTimeout)} (it is half of the log's identity, which the databases record){LastError()}", new TimeoutException());
        var topic = _options.Address.Topic;
        return new LogIdentity($"kafka:{clusterId}/{topic}", $"Kafka log {_options.Address} (cluster {clusterId}, topic {topic})");
    }

    /// <summary>
    /// Appends a record and returns once Kafka acknowledged it (acks=all) and this process has applied
    /// the log up to it, with the transaction's first decision as of the record's offset.
    /// Cancelling ends the wait, not the produce: the record may still be written.
    /// </summary>
    /// <exception cref="CommitLogUnavailableException">Kafka did not acknowledge in time, or refused; the record may or may not be in the log.</exception>
    /// <remarks>A synchronous caller (<paramref name="async"/> false) blocks on the delivery report and on the tail, which librdkafka's poll thread and the tail thread complete: it needs no thread-pool thread.</remarks>
    public async ValueTask<AppendResult> AppendAsync(LogRecord record, bool async, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var message = new Message<string, byte[]> { Key = record.TransactionId.ToString(), Value = LogRecordCodec.Encode(record) };
        var asRead = LogRecordCodec.Decode(message.Value); // what every process's tail reads back, applied here without the read
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        var producer = Volatile.Read(ref _producer);
        DeliveryResult<string, byte[]> delivered;
        try
        {
            var producing = producer.ProduceAsync(_partition, message, cancellationToken);
            delivered = async ? await producing.ConfigureAwait(false) : producing.GetAwaiter().GetResult();
        }
        catch (ProduceException<string, byte[]> error)
        {
            if (error.Error.IsFatal)
            {
                ReplaceProducer(producer);
            }

            throw Unavailable($"Kafka did not take the {Describe(record)}: {error.Error.Reason}", error);
        }
        catch (KafkaException error)
        {
            throw Unavailable($"Kafka did not take the {Describe(record)}: {error.Error.Reason}", error);
        }

        var offset = delivered.Offset.Value;
        _applier.Acknowledged(offset, asRead);
        await WaitAppliedAsync(offset, $"the {Describe(record)} was written at offset {offset} but the log before it could not be read", async, cancellationToken).ConfigureAwait(false);
        Engine.Diagnostics.KhonsuTelemetry.LogAppendDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        return new AppendResult(new LogPosition(offset), _index.DecisionAsOf(record.TransactionId, offset))
        {
            Refusal = _index.RefusalOf(record.TransactionId),
        };
    }

    public async ValueTask<LoggedRecord?> GetDecisionAsync(TransactionId transactionId, CancellationToken cancellationToken = default)
    {
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        return _index.FirstDecision(transactionId);
    }

    public async IAsyncEnumerable<LoggedRecord> ReadUnfinishedAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        foreach (var record in _index.Unfinished())
        {
            yield return record;
        }
    }

    /// <summary>Records read from the topic per request when a reader asks for ones the index no longer holds in memory.</summary>
    private const int HistoryChunk = 5_000;

    /// <summary>Transactions whose outcome the index remembers, outcomes it forgot since this process opened the log, and records it holds in memory (see docs/kafka-log.md, "What the index keeps").</summary>
    public (int Remembered, long Forgotten, int RecordsHeld) IndexSize => _index.Size;

    /// <summary>
    /// Every record from <paramref name="from"/> up to the end of the log when the call starts, in
    /// log order: the latest from memory, older ones from the topic.
    /// </summary>
    /// <exception cref="CommitLogTruncatedException">
    /// The topic's retention deleted records at or after <paramref name="from"/>, or the index forgot
    /// the outcome of a refused commit there (so it could not show it as the abort it is).
    /// </exception>
    public async IAsyncEnumerable<LoggedRecord> ReadFromAsync(LogPosition from, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var end = await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        var next = from.Value;
        while (next < end)
        {
            if (_index.Range(next, end) is { } held)
            {
                foreach (var record in held)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return record;
                }

                yield break;
            }

            // Before what the index holds (it opened from a checkpoint, or let older records go): from the topic.
            var readable = _index.ReadableFrom;
            if (next < readable)
            {
                throw new CommitLogTruncatedException(
                    $"Kafka log {_options.Address}: records before offset {readable} can no longer be read with their outcomes (the log forgot the outcomes of transactions that ended long ago; see docs/kafka-log.md, \"What the index keeps\"); it is read from offset {readable} on.",
                    next,
                    readable);
            }

            var until = Math.Min(Math.Min(_index.Start, end), next + HistoryChunk);
            foreach (var record in await ReadHistoryAsync(next, until, cancellationToken).ConfigureAwait(false))
            {
                yield return record;
            }

            next = until;
        }
    }

    /// <summary>
    /// An IN_DOUBT note is appended as a record of its own (<see cref="LogRecordKind.InDoubtNote"/>,
    /// format version 2), so that the transaction_log that <c>TransactionLog=&lt;backend&gt;</c>
    /// materialises shows it; it decides nothing. Every other status follows from the decision and
    /// end records, so nothing is written for it.
    /// </summary>
    public async ValueTask NoteParticipantStatusAsync(
        TransactionId transactionId, string participant, ParticipantStatus status, string? reason, bool async, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(participant);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (status != ParticipantStatus.InDoubt)
        {
            return;
        }

        var note = new LogRecord
        {
            Kind = LogRecordKind.InDoubtNote,
            TransactionId = transactionId,
            NodeId = _options.NodeId ?? string.Empty,
            Timestamp = DateTimeOffset.UtcNow,
            Reason = reason,
            Participants = [new ParticipantVote(participant, NeedsRedo: false, [])],
        };
        await AppendAsync(note, async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Delivers what is in flight (within the operation timeout), stops the tail, and closes the clients.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Engine.Diagnostics.KhonsuTelemetry.UntrackSharedLog(this);
        await _position.DisposeAsync().ConfigureAwait(false);
        var producer = Volatile.Read(ref _producer);
        await Task.Run(() => producer.Flush(_options.OperationTimeout)).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_tailThread.IsAlive)
        {
            await Task.Run(_tailThread.Join).ConfigureAwait(false);
        }
        _index.Fail(new ObjectDisposedException(nameof(KafkaCommitLog), "The commit log is closed."));
        producer.Dispose();
        await Task.Run(_checkpoints.Dispose).ConfigureAwait(false);
        _tail.Close();
        _tail.Dispose();
        Task? query;
        lock (_producerGate)
        {
            query = _watermarkQuery;
        }

        if (query is { IsCompleted: false })
        {
            // Still blocked in librdkafka (no broker answers): free the handle when the call returns, not under it.
            _ = query.ContinueWith(_ => Volatile.Read(ref _watermarks).Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        else
        {
            _watermarks.Dispose();
        }
        _stop.Dispose();
    }

    /// <summary>What this process publishes about itself (see <see cref="KafkaPositionPublisher"/>).</summary>
    private KafkaProcessPosition Position()
    {
        var applied = _index.Next - 1;
        var checkpoint = Volatile.Read(ref _lastCheckpointOffset);
        return new KafkaProcessPosition(ProcessName, applied < 0 ? null : applied, checkpoint < 0 ? null : checkpoint, DateTimeOffset.UtcNow);
    }

    /// <summary>This process's name on the positions topic: its node id (machine:pid by default).</summary>
    private string ProcessName => _options.NodeId ?? $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Where the log is and how its clients talk to the brokers.</summary>
    internal KafkaCommitLogOptions Options => _options;

    /// <summary>Consumer settings of this log's clients, for a reader of its companion topics (<see cref="KafkaLogLag"/>).</summary>
    internal ConsumerConfig ReaderConfig(string role) => ConsumerConfig(role);

    /// <summary>Waits until the index holds every record the broker reports now; returns that end offset.</summary>
    private async Task<long> CatchUpAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var end = (await QueryWatermarksAsync(cancellationToken).ConfigureAwait(false)).High.Value;
        if (end > 0)
        {
            await WaitAppliedAsync(end - 1, $"the log's end (offset {end}) could not be read", async: true, cancellationToken).ConfigureAwait(false);
        }

        return end;
    }

    private async Task WaitAppliedAsync(long offset, string what, bool async, CancellationToken cancellationToken)
    {
        try
        {
            await SyncOrAsyncWait.WaitAsync(_index.WaitAppliedAsync(offset, cancellationToken), _options.OperationTimeout, async, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException error)
        {
            throw Unavailable($"{what} within {Seconds(_options.OperationTimeout)} (read up to offset {_index.Next}){LastError()}", error);
        }
    }

    /// <summary>
    /// The partition's bounds as the broker reports them now. librdkafka's query can block past its
    /// timeout while no broker answers, so the caller waits at most the operation timeout, and
    /// concurrent callers share one query in flight rather than pile up blocked threads.
    /// </summary>
    private async Task<WatermarkOffsets> QueryWatermarksAsync(CancellationToken cancellationToken)
    {
        Task<WatermarkOffsets> query;
        lock (_producerGate)
        {
            if (_watermarkQuery is not { IsCompleted: false })
            {
                _watermarkQuery = Task.Run(QueryWatermarksWithRetries, CancellationToken.None);
            }

            query = _watermarkQuery;
        }

        try
        {
            return await query.WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is KafkaException or TimeoutException)
        {
            var reason = error is KafkaException kafka ? kafka.Error.Reason : "no answer";
            var hint = error is KafkaException { Error.Code: ErrorCode.UnknownTopicOrPart }
                ? " Create the topic with one partition (see README, 'Kafka commit log')."
                : LastError();
            throw Unavailable($"could not read the end of partition {Partition} within {Seconds(_options.OperationTimeout)}: {reason}{hint}", error);
        }
    }

    /// <summary>
    /// Runs on a pool thread, one at a time (see <see cref="QueryWatermarksAsync"/>). After a leader
    /// change librdkafka answers from stale metadata ("not leader") without refreshing it for this
    /// query, so a fresh client, which looks the leader up again, retries until the timeout.
    /// </summary>
    private WatermarkOffsets QueryWatermarksWithRetries()
    {
        var deadline = DateTime.UtcNow + _options.OperationTimeout;
        while (true)
        {
            try
            {
                return _watermarks.QueryWatermarkOffsets(_partition, _options.OperationTimeout);
            }
            catch (KafkaException error) when (error.Error.Code is ErrorCode.NotLeaderForPartition or ErrorCode.LeaderNotAvailable or ErrorCode.FencedLeaderEpoch
                                               && DateTime.UtcNow < deadline && Volatile.Read(ref _disposed) == 0)
            {
                var stale = _watermarks;
                Volatile.Write(ref _watermarks, BuildWatermarkClient());
                stale.Dispose();
                Thread.Sleep(50); // a pool thread already given to this blocking call; lets the election settle
            }
        }
    }

    private IConsumer<Ignore, Ignore> BuildWatermarkClient()
        => new ConsumerBuilder<Ignore, Ignore>(ConsumerConfig("watermarks"))
            .SetErrorHandler((_, error) => NoteClientError(error))
            .SetLogHandler((_, _) => { })
            .Build();

    private void Tail()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            ConsumeResult<string, byte[]>? result;
            try
            {
                result = _tail.Consume(token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ConsumeException error) when (!error.Error.IsFatal)
            {
                NoteClientError(error.Error); // e.g. a broker down: librdkafka retries by itself
                continue;
            }
            catch (Exception error)
            {
                _index.Fail(Unavailable("the log's tail consumer failed", error));
                return;
            }

            if (result?.Message is null || result.IsPartitionEOF || !_applier.Needs(result.Offset.Value))
            {
                continue; // nothing, or an own record applied when the broker acknowledged it
            }

            LogRecord record;
            try
            {
                record = LogRecordCodec.Decode(result.Message.Value);
            }
            catch (InvalidDataException error)
            {
                // Never skip a record: it may be a decision. Every read fails until someone looks.
                _index.Fail(new InvalidDataException($"Kafka log {_options.Address}, offset {result.Offset.Value}: {error.Message}", error));
                return;
            }

            _applier.FromTail(result.Offset.Value, record);
        }
    }

    /// <summary>
    /// Loads the newest checkpoint that decodes and that the log still continues (the record after
    /// it is not deleted), skipping others with a warning. Returns the offset to read the log from.
    /// </summary>
    private async Task<long> LoadCheckpointAsync(CancellationToken cancellationToken)
    {
        // Reaching the log itself first gives the usual error when the brokers do not answer.
        await QueryWatermarksAsync(cancellationToken).ConfigureAwait(false);
        var topic = _options.Address.Topic;
        long? newestTooOld = null;
        WatermarkOffsets? bounds = null;
        Tuple<KafkaLogIndex, long>? loaded;
        try
        {
            loaded = await _checkpoints.ReadNewestAsync(
            stored =>
            {
                // The log's bounds after the checkpoints were read: a checkpoint is never ahead of the log it was taken of.
                bounds ??= QueryWatermarksAsync(cancellationToken).GetAwaiter().GetResult();
                if (stored.Offset >= bounds.High.Value)
                {
                    Warn($"the checkpoint at offset {stored.Offset} in topic '{_checkpoints.Topic}' is past the log's end ({bounds.High.Value}): skipped (was topic '{topic}' deleted and created again? then delete '{_checkpoints.Topic}' too)");
                    return null;
                }

                if (stored.Offset + 1 < bounds.Low.Value)
                {
                    newestTooOld ??= stored.Offset;
                    return null;
                }

                try
                {
                    return KafkaLogIndex.ReadCheckpoint(stored.Bytes, topic, _options.OutcomeLimits).ToTuple();
                }
                catch (InvalidDataException error)
                {
                    Warn($"the checkpoint at offset {stored.Offset} in topic '{_checkpoints.Topic}' is skipped: {error.Message}");
                    return null;
                }
            },
            cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException error)
        {
            throw Unavailable($"could not read the checkpoints in topic '{_checkpoints.Topic}': {error.Error.Reason}{LastError()}", error);
        }

        bounds ??= await QueryWatermarksAsync(cancellationToken).ConfigureAwait(false);
        if (loaded is { } checkpoint)
        {
            _index = checkpoint.Item1;
            _lastCheckpointOffset = checkpoint.Item2;
            return checkpoint.Item2 + 1;
        }

        if (Truncation(_options.Address, _checkpoints.Topic, bounds.Low.Value, newestTooOld) is { } gone)
        {
            throw gone;
        }

        _index.StartAt(0);
        return 0;
    }

    /// <summary>
    /// The error when the log starts at <paramref name="low"/> (retention deleted what is before it)
    /// and no usable checkpoint covers that: the newest one, if any, is at <paramref name="newestCheckpoint"/>.
    /// </summary>
    internal static CommitLogTruncatedException? Truncation(KafkaLogAddress address, string checkpointTopic, long low, long? newestCheckpoint)
    {
        if (low == 0 || newestCheckpoint + 1 >= low)
        {
            return null;
        }

        var covered = newestCheckpoint is { } newest
            ? $"its newest checkpoint (topic '{checkpointTopic}') is at offset {newest}, so offsets {newest + 1} to {low - 1} are gone"
            : $"topic '{checkpointTopic}' holds no usable checkpoint, so offsets 0 to {low - 1} are gone";
        return new CommitLogTruncatedException(
            $"Kafka log {address}: topic '{address.Topic}' starts at offset {low} (retention deleted the records before it), but {covered}. The log's decisions and certifier cannot be rebuilt: keep the topic's retention longer than checkpoints are apart ({KafkaCommitLogOptions.CheckpointIntervalKey}, {KafkaCommitLogOptions.CheckpointSecondsKey}; see docs/kafka-log.md).",
            newestCheckpoint + 1 ?? 0,
            low);
    }

    /// <summary>
    /// Every <see cref="KafkaCommitLogOptions.CheckpointInterval"/> records (the same offsets in every
    /// process) or after <see cref="KafkaCommitLogOptions.CheckpointMaxAge"/>, under the applier's
    /// lock (<see cref="KafkaLogApplier"/>): the index is exactly at <paramref name="offset"/> here. Skipped while the last one is still on its way.
    /// </summary>
    private void MaybeWriteCheckpoint(long offset)
    {
        var interval = _options.CheckpointInterval;
        var maxAge = _options.CheckpointMaxAge;
        var due = (interval > 0 && (offset + 1) % interval == 0)
                  || (maxAge > TimeSpan.Zero && offset > _lastCheckpointOffset && System.Diagnostics.Stopwatch.GetElapsedTime(_lastCheckpointAt) >= maxAge);
        if (!due || _checkpoints.Busy)
        {
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var checkpoint = _index.WriteCheckpoint(_options.Address.Topic);
        if (_checkpoints.TryWrite(offset, checkpoint, Warn))
        {
            LastCheckpoint = (offset, checkpoint.Length, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            _lastCheckpointOffset = offset;
            _lastCheckpointAt = System.Diagnostics.Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _checkpointsWritten);
        }
    }

    /// <summary>
    /// Records [<paramref name="from"/>, <paramref name="until"/>) read from Kafka, as the index
    /// would have kept them; a clear error if retention deleted some of them.
    /// </summary>
    private async Task<List<LoggedRecord>> ReadHistoryAsync(long from, long until, CancellationToken cancellationToken)
    {
        var low = (await QueryWatermarksAsync(cancellationToken).ConfigureAwait(false)).Low.Value;
        if (low > from)
        {
            throw new CommitLogTruncatedException(
                $"Kafka log {_options.Address}: records from offset {from} to {low - 1} were deleted by the topic's retention; the log now starts at offset {low}.", from, low);
        }

        return await Task.Run(
            () =>
            {
                using var consumer = new ConsumerBuilder<string, byte[]>(ConsumerConfig("history")).SetLogHandler((_, _) => { }).Build();
                consumer.Assign(new TopicPartitionOffset(_partition, new Offset(from)));
                var records = new List<LoggedRecord>();
                var next = from;
                while (next < until)
                {
                    var result = consumer.Consume(_options.OperationTimeout)
                                 ?? throw Unavailable($"records from offset {next} to {until - 1} could not be read within {Seconds(_options.OperationTimeout)}{LastError()}", new TimeoutException());
                    next = result.Offset.Value + 1;
                    if (result.Offset.Value >= until)
                    {
                        break;
                    }

                    LogRecord record;
                    try
                    {
                        record = LogRecordCodec.Decode(result.Message.Value);
                    }
                    catch (InvalidDataException error)
                    {
                        throw new InvalidDataException($"Kafka log {_options.Address}, offset {result.Offset.Value}: {error.Message}", error);
                    }

                    records.Add(_index.AsApplied(result.Offset.Value, record));
                }

                return records;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private void Warn(string warning) => _options.Warning?.Invoke(KafkaSecrets.Scrub($"Kafka log {_options.Address}: {warning}.", _options.ClientSettings));

    private IProducer<string, byte[]> BuildProducer()
    {
        var config = new ProducerConfig(BaseConfig(_options, "producer"))
        {
            // The log's guarantees; set after the passthrough so that it cannot weaken them.
            EnableIdempotence = true,
            Acks = Acks.All,
            MaxInFlight = 5, // the most idempotence keeps in order: pipelining without reordering
            LingerMs = 0, // a commit waits on its record: never hold it back to fill a batch
            MessageTimeoutMs = (int)_options.OperationTimeout.TotalMilliseconds,
        };
        return new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) => NoteClientError(error))
            .SetLogHandler((_, _) => { })
            .Build();
    }

    /// <summary>After a fatal producer error (e.g. fenced idempotence state) a fresh producer takes over.</summary>
    private void ReplaceProducer(IProducer<string, byte[]> failed)
    {
        lock (_producerGate)
        {
            if (!ReferenceEquals(_producer, failed) || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            Volatile.Write(ref _producer, BuildProducer());
        }

        failed.Dispose();
    }

    private ConsumerConfig ConsumerConfig(string role)
        => new(BaseConfig(_options, role))
        {
            // No consumer group: the partition is assigned, read from the start, and nothing is committed.
            GroupId = "khonsu-log-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = false,
        };

    private static Dictionary<string, string> BaseConfig(KafkaCommitLogOptions options, string role)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = options.Address.BootstrapServers,
            ["client.id"] = $"khonsu-{options.NodeId ?? Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{role}",
            ["socket.nagle.disable"] = "true",
            ["reconnect.backoff.ms"] = "50",
            ["reconnect.backoff.max.ms"] = "1000",
        };
        if (role != "producer")
        {
            // How long a caught-up tail's fetch may wait at the broker. A real broker answers as soon
            // as a record arrives, so this only bounds idle polling; librdkafka's mock cluster always
            // waits it out, so there it adds to every append's read-back (see docs/kafka-log.md).
            config["fetch.wait.max.ms"] = "10";
        }

        foreach (var (key, value) in options.LibrdkafkaSettings)
        {
            config[key] = value;
        }

        // Producer-only passthrough keys would make librdkafka warn on consumers; keep them to the producer.
        if (role != "producer")
        {
            config.Remove("message.timeout.ms");
            config.Remove("linger.ms");
        }

        return config;
    }

    private static void ValidateSettings(IReadOnlyDictionary<string, string> settings)
    {
        foreach (var key in settings.Keys)
        {
            if (key is "enable.idempotence" or "acks" or "request.required.acks" or "transactional.id" or "bootstrap.servers" or "group.id")
            {
                throw new ArgumentException($"Kafka setting '{key}' is fixed by Khonsu's log and cannot be passed through.", nameof(settings));
            }
        }
    }

    private void NoteClientError(Error error)
        => _lastClientError = KafkaSecrets.Scrub($"{error.Code}: {error.Reason}", _options.ClientSettings);

    private string LastError() => _lastClientError is { } last ? $"; last client error: {last}" : string.Empty;

    private CommitLogUnavailableException Unavailable(string what, Exception error)
        => new(KafkaSecrets.Scrub($"Kafka log {_options.Address}: {what}.", _options.ClientSettings), error);

    private static string Describe(LogRecord record) => $"{record.Kind.ToString().ToLowerInvariant()} record of transaction {record.TransactionId}";

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
