using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>The Kafka log against a real Kafka-protocol broker (librdkafka's mock cluster, in its own process).</summary>
public sealed class KafkaCommitLogTests : IAsyncLifetime
{
    private KafkaMockCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await KafkaMockCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task An_append_reports_its_offset_and_first_decision_and_the_index_follows_end_records()
    {
        var address = await _cluster.CreateLogAsync();
        await using var log = await LogRecords.OpenAsync(address);
        var id = TransactionId.New();

        var commit = await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, id));
        Assert.Equal((new LogPosition(0), (LogRecordKind?)LogRecordKind.Commit), (commit.Position, commit.Decision));
        var decision = await log.GetDecisionAsync(id);
        Assert.Equal(LogRecordKind.Commit, decision!.Record.Kind);
        Assert.Equal(75L, decision.Record.Participants[0].Writes[0].Image!.Values[1]);
        Assert.Equal([id], await Ids(log.ReadUnfinishedAsync()));

        var end = await log.AppendAsync(LogRecords.New(LogRecordKind.End, id));
        Assert.Equal((new LogPosition(1), (LogRecordKind?)LogRecordKind.Commit), (end.Position, end.Decision));
        Assert.Empty(await Ids(log.ReadUnfinishedAsync()));
        Assert.Null(await log.GetDecisionAsync(TransactionId.New())); // never logged: presumed abort
    }

    [Fact]
    public async Task A_decision_after_the_first_changes_nothing_and_an_end_before_any_decision_reports_none()
    {
        var address = await _cluster.CreateLogAsync();
        await using var log = await LogRecords.OpenAsync(address);
        var id = TransactionId.New();
        Assert.Null((await log.AppendAsync(LogRecords.New(LogRecordKind.End, id))).Decision);
        Assert.Equal(LogRecordKind.Abort, (await log.AppendAsync(LogRecords.New(LogRecordKind.Abort, id))).Decision);
        Assert.Equal(LogRecordKind.Abort, (await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, id))).Decision);
        Assert.Equal(LogRecordKind.Abort, (await log.GetDecisionAsync(id))!.Record.Kind);
        Assert.Empty(await Ids(log.ReadUnfinishedAsync())); // its end came first
    }

    [Fact]
    public async Task A_commit_and_an_abort_racing_from_two_logs_agree_on_the_first_in_log_order()
    {
        var address = await _cluster.CreateLogAsync();
        await using var first = await LogRecords.OpenAsync(address, node: "a");
        await using var second = await LogRecords.OpenAsync(address, node: "b");
        for (var i = 0; i < 20; i++)
        {
            var id = TransactionId.New();
            var commit = first.AppendAsync(LogRecords.New(LogRecordKind.Commit, id, "a")).AsTask();
            var abort = second.AppendAsync(LogRecords.New(LogRecordKind.Abort, id, "b")).AsTask();
            var (c, a) = (await commit, await abort);
            var winner = c.Position < a.Position ? LogRecordKind.Commit : LogRecordKind.Abort;
            Assert.Equal(winner, c.Decision);
            Assert.Equal(winner, a.Decision);
            Assert.Equal(winner, (await first.GetDecisionAsync(id))!.Record.Kind);
            Assert.Equal(winner, (await second.GetDecisionAsync(id))!.Record.Kind);
        }
    }

    [Fact]
    public async Task Many_appends_in_flight_at_once_all_land_once_in_one_order()
    {
        var address = await _cluster.CreateLogAsync();
        await using var log = await LogRecords.OpenAsync(address);
        var ids = Enumerable.Range(0, 300).Select(_ => TransactionId.New()).ToList();
        var results = await Task.WhenAll(ids.Select(id => log.AppendAsync(LogRecords.New(LogRecordKind.Commit, id)).AsTask()));
        Assert.All(results, r => Assert.Equal(LogRecordKind.Commit, r.Decision));
        Assert.Equal(300, results.Select(r => r.Position).Distinct().Count());

        var read = new List<LoggedRecord>();
        await foreach (var record in log.ReadFromAsync(LogPosition.Start))
        {
            read.Add(record);
        }

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), read.Select(r => r.Position.Value));
        Assert.Equal(ids.ToHashSet(), read.Select(r => r.Record.TransactionId).ToHashSet());
        Assert.Equal(read.Skip(250).Select(r => r.Position), await Positions(log.ReadFromAsync(new LogPosition(250))));
    }

    [Fact]
    public async Task Reopening_rebuilds_the_index_from_the_topic()
    {
        var address = await _cluster.CreateLogAsync();
        var (finished, unfinished, aborted) = (TransactionId.New(), TransactionId.New(), TransactionId.New());
        await using (var log = await LogRecords.OpenAsync(address))
        {
            await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, finished));
            await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, unfinished));
            await log.AppendAsync(LogRecords.New(LogRecordKind.Abort, aborted));
            await log.AppendAsync(LogRecords.New(LogRecordKind.End, finished));
        }

        await using var reopened = await LogRecords.OpenAsync(address);
        Assert.Equal(LogRecordKind.Commit, (await reopened.GetDecisionAsync(finished))!.Record.Kind);
        Assert.Equal(LogRecordKind.Abort, (await reopened.GetDecisionAsync(aborted))!.Record.Kind);
        Assert.Equal([unfinished, aborted], await Ids(reopened.ReadUnfinishedAsync()));
        Assert.Equal(4, (await Positions(reopened.ReadFromAsync(LogPosition.Start))).Count);
        Assert.Equal(new LogPosition(4), (await reopened.AppendAsync(LogRecords.New(LogRecordKind.End, unfinished))).Position);
    }

    [Fact]
    public async Task A_log_sees_records_another_process_appended_when_it_reads()
    {
        var address = await _cluster.CreateLogAsync();
        await using var reader = await LogRecords.OpenAsync(address, node: "reader");
        await using var writer = await LogRecords.OpenAsync(address, node: "writer");
        var id = TransactionId.New();
        await writer.AppendAsync(LogRecords.New(LogRecordKind.Commit, id, "writer"));

        // No wait: a read catches up with the partition's end as the broker reports it now.
        Assert.Equal("writer", (await reader.GetDecisionAsync(id))!.Record.NodeId);
    }

    private static async Task<List<TransactionId>> Ids(IAsyncEnumerable<LoggedRecord> records)
    {
        var ids = new List<TransactionId>();
        await foreach (var record in records)
        {
            ids.Add(record.Record.TransactionId);
        }

        return ids;
    }

    private static async Task<List<LogPosition>> Positions(IAsyncEnumerable<LoggedRecord> records)
    {
        var positions = new List<LogPosition>();
        await foreach (var record in records)
        {
            positions.Add(record.Position);
        }

        return positions;
    }
}
