using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// An append learns its verdict from the broker's acknowledgement of its own record, applied in
/// offset order, not from the tail fetching the record back (docs/kafka-log.md, "Writing").
/// </summary>
public sealed class OwnAppendTests
{
    /// <summary>
    /// The mock cluster holds every fetch for fetch.wait.max.ms even when data is there: with a
    /// minute, the tail brings nothing back within the operation timeout (3 s), so appends that
    /// waited for their read-back would fail as unavailable.
    /// </summary>
    private static readonly Dictionary<string, string> TailThatNeverFetchesInTime = new()
    {
        ["fetch.wait.max.ms"] = "60000",
        ["socket.timeout.ms"] = "120000",
        ["message.timeout.ms"] = "3000",
    };

    [Fact]
    public async Task Appends_one_at_a_time_and_concurrent_ones_are_decided_without_a_fetch()
    {
        await using var cluster = await KafkaMockCluster.StartAsync();
        await using var log = await LogRecords.OpenAsync(await cluster.CreateLogAsync(), TailThatNeverFetchesInTime);

        var first = TransactionId.New();
        var appended = await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, first));
        Assert.Equal((LogRecordKind.Commit, 0L), (appended.Decision!.Value, appended.Position.Value));
        // An abort after it changes nothing: the first decision in log order stands.
        Assert.Equal(LogRecordKind.Commit, (await log.AppendAsync(LogRecords.New(LogRecordKind.Abort, first))).Decision);

        var batch = Enumerable.Range(0, 40).Select(_ => TransactionId.New()).ToList();
        var results = await Task.WhenAll(batch.Select(id => log.AppendAsync(LogRecords.New(LogRecordKind.Commit, id)).AsTask()));
        Assert.All(results, result => Assert.Equal(LogRecordKind.Commit, result.Decision));
        Assert.Equal(Enumerable.Range(2, 40).Select(offset => (long)offset), results.Select(result => result.Position.Value).Order());
    }
}
