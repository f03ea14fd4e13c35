using Confluent.Kafka;
using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// A plain Kafka consumer with none of Khonsu's code (as kcat or any tool would) reads the log
/// topic: keys are transaction ids, values decode with KafkaLogRecordFormat.
/// </summary>
public sealed class PlainKafkaClientTests
{
    [Fact]
    public void A_last_writer_wins_write_and_an_in_doubt_note_are_spelled_out()
    {
        var id = TransactionId.New();
        var commit = new LogRecord
        {
            Kind = LogRecordKind.Commit,
            TransactionId = id,
            NodeId = "n",
            Timestamp = DateTimeOffset.UnixEpoch,
            Participants = [new Engine.Commit.ParticipantVote("shop", false, [new Engine.Commit.RowWrite("orders", "[7]", Engine.Commit.WriteKind.Update, 1, 2) { LastWriterWins = true }])],
        };
        var note = commit with { Kind = LogRecordKind.InDoubtNote, Reason = "backend 'shop' could not be reached", Participants = [new Engine.Commit.ParticipantVote("shop", false, [])] };

        Assert.Contains("Update orders[[7]] version 1 -> 2 (last writer wins)", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(commit)), StringComparison.Ordinal);
        Assert.Contains("INDOUBTNOTE", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(note)), StringComparison.Ordinal);
        Assert.Contains("reason=\"backend 'shop' could not be reached\"", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(note)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_consumer_reads_the_log_topic_and_its_values_decode_for_a_human()
    {
        await using var cluster = await KafkaMockCluster.StartAsync();
        var address = KafkaLogAddress.Parse(await cluster.CreateLogAsync());
        var (committed, aborted) = (TransactionId.New(), TransactionId.New());
        await using (var log = await LogRecords.OpenAsync(address.ToString()))
        {
            await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, committed));
            await log.AppendAsync(LogRecords.New(LogRecordKind.Abort, aborted));
            await log.AppendAsync(LogRecords.New(LogRecordKind.End, committed));
        }

        var read = await ReadAsync(address, 3);
        Assert.Equal([$"0 {committed}", $"1 {aborted}", $"2 {committed}"], read.Select(r => $"{r.Offset.Value} {r.Message.Key}"));

        var value = read[0].Message.Value;
        var text = KafkaLogRecordFormat.Describe(0, committed.ToString(), value);
        Assert.StartsWith($"@0 key={committed} COMMIT tx={committed} node=test", text, StringComparison.Ordinal);
        Assert.Contains("participant ledger (redo from log): 1 write(s)", text, StringComparison.Ordinal);
        Assert.Contains("accounts[1] version 3 -> 4 image {id=1, balance=75}", text, StringComparison.Ordinal);
        Assert.Contains("ABORT", KafkaLogRecordFormat.Describe(read[1].Message.Value), StringComparison.Ordinal);
        Assert.StartsWith("UNREADABLE", KafkaLogRecordFormat.Describe(value.AsSpan(0, value.Length - 1)), StringComparison.Ordinal);
    }

    private static Task<List<ConsumeResult<string, byte[]>>> ReadAsync(KafkaLogAddress address, int count)
        => Task.Run(() =>
        {
            var config = new ConsumerConfig { BootstrapServers = address.BootstrapServers, GroupId = "plain-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false };
            using var consumer = new ConsumerBuilder<string, byte[]>(config).SetLogHandler((_, _) => { }).Build();
            consumer.Assign(new TopicPartitionOffset(address.Topic, 0, Offset.Beginning));
            var read = new List<ConsumeResult<string, byte[]>>();
            while (read.Count < count)
            {
                read.Add(consumer.Consume(TimeSpan.FromSeconds(30)) ?? throw new TimeoutException($"only {read.Count} of {count} records read"));
            }

            return read;
        });
}
