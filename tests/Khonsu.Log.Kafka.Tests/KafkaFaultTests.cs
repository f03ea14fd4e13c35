using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>The log under the mock cluster's faults: it answers or fails with a transient error, never hangs, and comes back by itself.</summary>
public sealed class KafkaFaultTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> ShortTimeout = new() { ["message.timeout.ms"] = "1500" };
    private KafkaMockCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await KafkaMockCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task With_the_broker_down_appends_and_reads_fail_transiently_and_work_again_once_it_is_up()
    {
        await using var log = await LogRecords.OpenAsync(await _cluster.CreateLogAsync(), ShortTimeout);
        await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, TransactionId.New()));

        await _cluster.DownAsync();
        var started = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAsync<CommitLogUnavailableException>(() => log.AppendAsync(LogRecords.New(LogRecordKind.Commit, TransactionId.New())).AsTask());
        await Assert.ThrowsAsync<CommitLogUnavailableException>(() => log.GetDecisionAsync(TransactionId.New()).AsTask());
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"waited {started.Elapsed}");

        await _cluster.UpAsync();
        var (id, appended) = await AppendOnceReconnectedAsync(log);
        Assert.Equal(LogRecordKind.Commit, appended.Decision);
        Assert.Equal(LogRecordKind.Commit, (await log.GetDecisionAsync(id))!.Record.Kind);
    }

    /// <summary>
    /// Appends a new record, again while the attempt fails transiently: the client reconnects to a
    /// broker that came back after a backoff of its own (up to librdkafka's reconnect.backoff.max.ms),
    /// which on a loaded machine can outlast one attempt's 1.5 s message timeout. Ten attempts
    /// outlast any backoff; a log that still fails then has not come back.
    /// </summary>
    private static async Task<(TransactionId Id, AppendResult Result)> AppendOnceReconnectedAsync(KafkaCommitLog log)
    {
        for (var attempt = 1; ; attempt++)
        {
            var id = TransactionId.New();
            try
            {
                return (id, await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, id)));
            }
            catch (CommitLogUnavailableException) when (attempt < 10)
            {
            }
        }
    }

    [Fact]
    public async Task Retried_produce_errors_write_the_record_exactly_once()
    {
        await using var log = await LogRecords.OpenAsync(await _cluster.CreateLogAsync(), ShortTimeout);
        await _cluster.PushRequestErrorsAsync(0, 6, 7, 6); // Produce: NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, NOT_LEADER
        var id = TransactionId.New();
        var result = await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, id));
        Assert.Equal(LogRecordKind.Commit, result.Decision);

        var copies = 0;
        await foreach (var record in log.ReadFromAsync(LogPosition.Start))
        {
            copies += record.Record.TransactionId == id ? 1 : 0;
        }

        Assert.Equal(1, copies);
    }

    [Fact]
    public async Task A_leader_change_loses_and_duplicates_nothing()
    {
        await using var cluster = await KafkaMockCluster.StartAsync(brokers: 3);
        var topic = "khonsu-log-leader";
        await cluster.CommandAsync($"topic {topic} 1 3");
        await using var log = await LogRecords.OpenAsync($"kafka://{cluster.Bootstrap}/{topic}", ShortTimeout);
        var ids = new List<TransactionId>();
        for (var leader = 1; leader <= 3; leader++)
        {
            await cluster.CommandAsync($"leader {topic} 0 {leader}");
            var batch = Enumerable.Range(0, 20).Select(_ => TransactionId.New()).ToList();
            ids.AddRange(batch);
            var results = await Task.WhenAll(batch.Select(id => log.AppendAsync(LogRecords.New(LogRecordKind.Commit, id)).AsTask()));
            Assert.All(results, r => Assert.Equal(LogRecordKind.Commit, r.Decision));
        }

        var read = new List<TransactionId>();
        await foreach (var record in log.ReadFromAsync(LogPosition.Start))
        {
            read.Add(record.Record.TransactionId);
        }

        Assert.Equal(ids.ToHashSet(), read.ToHashSet());
        Assert.Equal(ids.Count, read.Count);
    }

    [Fact]
    public async Task A_record_that_does_not_decode_stops_the_log_rather_than_being_skipped()
    {
        var address = KafkaLogAddress.Parse(await _cluster.CreateLogAsync());
        await using (var log = await LogRecords.OpenAsync(address.ToString(), ShortTimeout))
        {
            await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, TransactionId.New()));
        }

        // Another client writes garbage at offset 1.
        using (var producer = new Confluent.Kafka.ProducerBuilder<Confluent.Kafka.Null, string>(new Confluent.Kafka.ProducerConfig { BootstrapServers = address.BootstrapServers }).Build())
        {
            var written = await producer.ProduceAsync(new Confluent.Kafka.TopicPartition(address.Topic, 0), new Confluent.Kafka.Message<Confluent.Kafka.Null, string> { Value = "not a khonsu record" });
            Assert.Equal(1, written.Offset.Value);
        }

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LogRecords.OpenAsync(address.ToString(), ShortTimeout));
        Assert.Contains("offset 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_an_append_ends_the_wait()
    {
        await using var log = await LogRecords.OpenAsync(await _cluster.CreateLogAsync(), ShortTimeout);
        await _cluster.SetRttAsync(1000);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => log.AppendAsync(LogRecords.New(LogRecordKind.Commit, TransactionId.New()), cancel.Token).AsTask());
    }
}
