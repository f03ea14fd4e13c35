using Confluent.Kafka;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.Recovery;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>Checkpoints of the Kafka log in its companion topic, against librdkafka's mock cluster.</summary>
public sealed class CheckpointTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private KafkaMockCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await KafkaMockCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_log_opened_after_a_checkpoint_starts_from_it_and_answers_as_the_log_that_read_everything()
    {
        var address = await _cluster.CreateLogAsync();
        await using var first = await LogRecords.OpenAsync(address, Interval(10));
        Assert.Null(first.Opening.CheckpointOffset);

        var ids = new List<TransactionId>();
        for (var i = 0; i < 12; i++)
        {
            var id = TransactionId.New();
            ids.Add(id);
            await AppendAsync(first, LogRecords.New(i % 3 == 0 ? LogRecordKind.Abort : LogRecordKind.Commit, id), 10);
            if (i % 4 != 1)
            {
                await AppendAsync(first, LogRecords.New(LogRecordKind.End, id), 10); // some stay unfinished
            }
        }

        // 21 records: checkpoints after offsets 9 and 19.
        Assert.Equal(2, first.CheckpointsWritten);

        await using var second = await LogRecords.OpenAsync(address, Interval(10));

        Assert.Equal(new KafkaLogOpening(19, 1, second.Opening.Elapsed), second.Opening);
        foreach (var id in ids.Append(TransactionId.New()))
        {
            var (expected, actual) = (await first.GetDecisionAsync(id), await second.GetDecisionAsync(id));
            Assert.Equal((expected?.Position, expected?.Record.Kind), (actual?.Position, actual?.Record.Kind));
        }

        Assert.Equal(Summary(await All(first.ReadUnfinishedAsync())), Summary(await All(second.ReadUnfinishedAsync())));
        Assert.Equal(Summary(await All(first.ReadFromAsync(LogPosition.Start))), Summary(await All(second.ReadFromAsync(LogPosition.Start))));
        Assert.Equal(first.Certifier.TakeSnapshot(), second.Certifier.TakeSnapshot());

        // Both go on from there alike.
        var late = TransactionId.New();
        var appended = await second.AppendAsync(LogRecords.New(LogRecordKind.Commit, late));
        Assert.Equal(LogRecordKind.Commit, (await first.GetDecisionAsync(late))!.Record.Kind);
        Assert.Equal(appended.Position, (await first.GetDecisionAsync(late))!.Position);
    }

    [Fact]
    public async Task A_transaction_left_in_doubt_before_the_checkpoint_is_recovered_by_a_process_that_opened_from_it()
    {
        var address = await _cluster.CreateLogAsync();
        var inDoubt = TransactionId.New();
        await using (var crashed = await LogRecords.OpenAsync(address, Interval(5)))
        {
            await AppendAsync(crashed, LogRecords.New(LogRecordKind.Commit, inDoubt), 5); // then its process died: no end record
            for (var i = 0; i < 3; i++)
            {
                var other = TransactionId.New();
                await AppendAsync(crashed, LogRecords.New(LogRecordKind.Commit, other), 5);
                await AppendAsync(crashed, LogRecords.New(LogRecordKind.End, other), 5);
            }

        }

        await using var log = await LogRecords.OpenAsync(address, Interval(5));
        Assert.Equal(4, log.Opening.CheckpointOffset);
        var ledger = new FakeResource("ledger", inDoubt);
        var shop = new FakeResource("shop", inDoubt);
        var recovery = new RecoveryManager(log, [ledger, shop], "recoverer", _ => false, TimeSpan.FromSeconds(30));

        var report = await recovery.RecoverAsync();

        Assert.Equal(1, report.Committed);
        var redo = Assert.Single(ledger.Committed);
        Assert.Equal((inDoubt, 75L), (redo.Id, redo.Vote.Writes[0].Image!.Values[1]));
        Assert.Equal(inDoubt, Assert.Single(shop.Committed).Id);
        Assert.Empty(await All(log.ReadUnfinishedAsync()));
    }

    [Fact]
    public async Task A_corrupt_newest_checkpoint_is_skipped_with_a_warning_for_the_one_before_it()
    {
        var address = await _cluster.CreateLogAsync();
        await using (var writer = await LogRecords.OpenAsync(address, Interval(4)))
        {
            for (var i = 0; i < 6; i++)
            {
                await AppendAsync(writer, LogRecords.New(LogRecordKind.Commit, TransactionId.New()), 4);
            }
        }

        // A later checkpoint (offset 5) whose bytes were damaged: one part, valid part header, broken checkpoint.
        var topic = KafkaLogAddress.Parse(address).Topic + ".checkpoints";
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _cluster.Bootstrap }).Build())
        {
            byte[] part = [.. Guid.NewGuid().ToByteArray(), 2 * 5, 0, 1, 1, 2, 3, 4, 5, 6];
            await producer.ProduceAsync(new TopicPartition(topic, new Partition(0)), new Message<string, byte[]> { Key = "5", Value = part });
        }

        var warnings = new List<string>();
        await using var log = await KafkaCommitLog.OpenAsync(new KafkaCommitLogOptions
        {
            Address = KafkaLogAddress.Parse(address),
            ClientSettings = Interval(4),
            Warning = warning => { lock (warnings) { warnings.Add(warning); } },
        });

        Assert.Equal(3, log.Opening.CheckpointOffset);
        var warning = Assert.Single(warnings);
        Assert.Contains("checkpoint at offset 5", warning, StringComparison.Ordinal);
        Assert.Contains("is skipped", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void A_log_that_starts_past_every_checkpoint_is_refused_naming_the_topics_and_the_missing_offsets()
    {
        // librdkafka's mock cluster has no DeleteRecords nor retention, so the decision is checked as such.
        var address = KafkaLogAddress.Parse("kafka://127.0.0.1:9092/orders-log");

        var error = KafkaCommitLog.Truncation(address, "orders-log.checkpoints", low: 5_000, newestCheckpoint: 3_999)!;
        Assert.Equal((4_000L, 5_000L), (error.FirstMissing, error.FirstAvailable));
        Assert.Contains("topic 'orders-log' starts at offset 5000", error.Message, StringComparison.Ordinal);
        Assert.Contains("its newest checkpoint (topic 'orders-log.checkpoints') is at offset 3999, so offsets 4000 to 4999 are gone", error.Message, StringComparison.Ordinal);

        var none = KafkaCommitLog.Truncation(address, "orders-log.checkpoints", low: 10, newestCheckpoint: null)!;
        Assert.Contains("holds no usable checkpoint, so offsets 0 to 9 are gone", none.Message, StringComparison.Ordinal);

        Assert.Null(KafkaCommitLog.Truncation(address, "orders-log.checkpoints", low: 4_000, newestCheckpoint: 3_999)); // the next record is still there
        Assert.Null(KafkaCommitLog.Truncation(address, "orders-log.checkpoints", low: 0, newestCheckpoint: null));
    }

    [Fact]
    public async Task When_the_mocks_retention_drops_the_logs_head_a_checkpoint_still_opens_it_and_without_one_opening_fails_clearly()
    {
        // librdkafka's mock keeps about 5 MB per partition and drops the oldest records past that.
        var big = new string('x', 200_000);
        foreach (var interval in new[] { 5, 0 })
        {
            var address = await _cluster.CreateLogAsync();
            await using (var writer = await LogRecords.OpenAsync(address, Interval(interval)))
            {
                for (var i = 0; i < 40; i++)
                {
                    // Finished transactions: a checkpoint keeps only their outcome, not the big record.
                    var id = TransactionId.New();
                    foreach (var record in new[] { LogRecords.New(LogRecordKind.Abort, id) with { Reason = big }, LogRecords.New(LogRecordKind.End, id) })
                    {
                        if (interval > 0)
                        {
                            await AppendAsync(writer, record, interval);
                        }
                        else
                        {
                            await writer.AppendAsync(record);
                        }
                    }
                }
            }

            if (interval > 0)
            {
                await using var log = await LogRecords.OpenAsync(address, Interval(interval));
                Assert.Equal(79, log.Opening.CheckpointOffset);
                var gone = await Assert.ThrowsAsync<CommitLogTruncatedException>(() => All(log.ReadFromAsync(LogPosition.Start)));
                Assert.True(gone.FirstAvailable > 0);
                Assert.Contains("were deleted by the topic's retention", gone.Message, StringComparison.Ordinal);
            }
            else
            {
                var error = await Assert.ThrowsAsync<CommitLogTruncatedException>(() => LogRecords.OpenAsync(address, Interval(interval)));
                Assert.True(error.FirstAvailable > 0, "the mock kept the whole log: nothing was tested");
                Assert.Contains($"holds no usable checkpoint, so offsets 0 to {error.FirstAvailable - 1} are gone", error.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task A_participant_still_prepared_for_a_transaction_finished_before_the_checkpoint_is_settled_by_its_kept_outcome()
    {
        var address = await _cluster.CreateLogAsync();
        var aborted = TransactionId.New();
        await using (var writer = await LogRecords.OpenAsync(address, Interval(3)))
        {
            await AppendAsync(writer, LogRecords.New(LogRecordKind.Abort, aborted), 3);
            await AppendAsync(writer, LogRecords.New(LogRecordKind.End, aborted), 3);
            await AppendAsync(writer, LogRecords.New(LogRecordKind.Commit, TransactionId.New()), 3);
        }

        // A participant that prepared late (its coordinator stalled past the abort) and is not in the abort record.
        await using var log = await LogRecords.OpenAsync(address, Interval(3));
        Assert.Equal(2, log.Opening.CheckpointOffset);
        var late = new AbortingResource("late", aborted);

        await new RecoveryManager(log, [late], "recoverer", _ => false, TimeSpan.FromSeconds(30)).RecoverAsync();

        Assert.Equal([aborted], late.Aborted);
    }

    private static Dictionary<string, string> Interval(int records) => new() { [KafkaCommitLogOptions.CheckpointIntervalKey] = records.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    /// <summary>Appends, and at every checkpoint offset waits for the checkpoint: a process writes one at a time.</summary>
    private static async Task AppendAsync(KafkaCommitLog log, LogRecord record, int interval)
    {
        var position = (await log.AppendAsync(record)).Position.Value;
        if ((position + 1) % interval == 0)
        {
            await WaitForCheckpointsAsync(log, (int)((position + 1) / interval));
        }
    }

    private static async Task WaitForCheckpointsAsync(KafkaCommitLog log, int count)
    {
        await Poll.UntilAsync(() => Task.FromResult(log.CheckpointsWritten >= count), Patience, $"{count} checkpoint(s) written");
        await log.CheckpointWrittenAsync();
    }

    private static async Task<List<LoggedRecord>> All(IAsyncEnumerable<LoggedRecord> records)
    {
        var list = new List<LoggedRecord>();
        await foreach (var record in records)
        {
            list.Add(record);
        }

        return list;
    }

    private static List<(long, LogRecordKind, TransactionId, int)> Summary(List<LoggedRecord> records)
        => records.Select(r => (r.Position.Value, r.Record.Kind, r.Record.TransactionId, r.Record.Participants.Count)).ToList();

    private sealed class FakeResource(string name, TransactionId prepared) : IRecoverableResource
    {
        public string Name => name;

        public List<(TransactionId Id, ParticipantVote Vote)> Committed { get; } = [];

        public ValueTask<IReadOnlyList<PreparedTransaction>> ListPreparedAsync(CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyList<PreparedTransaction>>(Committed.Count == 0 ? [new PreparedTransaction(prepared, DateTimeOffset.UnixEpoch)] : []);

        public ValueTask CommitAsync(TransactionId transactionId, ParticipantVote vote, CancellationToken cancellationToken)
        {
            Committed.Add((transactionId, vote));
            return ValueTask.CompletedTask;
        }

        public ValueTask AbortAsync(TransactionId transactionId, CancellationToken cancellationToken)
            => throw new InvalidOperationException($"{transactionId} committed: it must not be aborted");
    }

    private sealed class AbortingResource(string name, TransactionId prepared) : IRecoverableResource
    {
        public string Name => name;

        public List<TransactionId> Aborted { get; } = [];

        public ValueTask<IReadOnlyList<PreparedTransaction>> ListPreparedAsync(CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyList<PreparedTransaction>>(Aborted.Count == 0 ? [new PreparedTransaction(prepared, DateTimeOffset.UnixEpoch)] : []);

        public ValueTask CommitAsync(TransactionId transactionId, ParticipantVote vote, CancellationToken cancellationToken)
            => throw new InvalidOperationException($"{transactionId} aborted: it must not be committed");

        public ValueTask AbortAsync(TransactionId transactionId, CancellationToken cancellationToken)
        {
            Aborted.Add(transactionId);
            return ValueTask.CompletedTask;
        }
    }
}
