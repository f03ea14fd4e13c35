using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.Recovery;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// A Kafka log's index (and so its checkpoints) stays bounded: outcomes of ended transactions are
/// forgotten (commits after a grace, aborts after the horizon, both in log clock), and a commit
/// record too old to be told from a forgotten abort's is refused in every process. Against
/// librdkafka's mock cluster, with short limits and record timestamps that move the log's clock:
/// no test waits for time to pass.
/// </summary>
public sealed class OutcomeForgettingTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    // Ten minutes for a transaction, a minute of skew: aborts are kept 12 minutes, commits 1.
    private static readonly OutcomeLimits Limits = new(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), RecordsInMemory: 40);

    private KafkaMockCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await KafkaMockCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Checkpoints_stop_growing_and_a_process_opened_from_one_still_settles_prepared_transactions_by_their_decisions()
    {
        var address = await _cluster.CreateLogAsync();
        var t0 = DateTimeOffset.UtcNow - TimeSpan.FromHours(3);
        var prepared = Id(t0);
        var abortedEarly = Id(t0);
        await using (var first = await OpenAsync(address, interval: 100))
        {
            await AppendAsync(first, At(LogRecords.New(LogRecordKind.Commit, prepared), t0)); // its process died: no end record
            await AppendAsync(first, At(LogRecords.New(LogRecordKind.Abort, abortedEarly), t0));
            await AppendAsync(first, At(LogRecords.New(LogRecordKind.End, abortedEarly), t0));

            // Two hours of log clock: a transaction every ten seconds, one in ten aborted.
            for (var i = 1; i <= 720; i++)
            {
                var at = t0 + TimeSpan.FromSeconds(10 * i);
                var id = Id(at);
                await AppendAsync(first, At(LogRecords.New(i % 10 == 0 ? LogRecordKind.Abort : LogRecordKind.Commit, id), at));
                await AppendAsync(first, At(LogRecords.New(LogRecordKind.End, id), at));
            }

            // What it remembers: the one left unfinished, the 5 commits of the last minute, the 8 aborts of the last 12.
            var size = first.IndexSize;
            Assert.Equal(1 + 5 + 8, size.Remembered);
            Assert.Equal(722 - size.Remembered, size.Forgotten);
            Assert.InRange(size.RecordsHeld, 40, 45);
        }

        // A process opening from the last checkpoint (offset 1399) restores only what was remembered there.
        await using var second = await OpenAsync(address, interval: 100);
        Assert.Equal(1399, second.Opening.CheckpointOffset);
        Assert.InRange(second.IndexSize.Remembered, 14, 16);
        Assert.Equal(LogRecordKind.Commit, (await second.GetDecisionAsync(prepared))?.Record.Kind);
        Assert.Equal([prepared], (await All(second.ReadUnfinishedAsync())).Select(r => r.Record.TransactionId));
        Assert.Null(await second.GetDecisionAsync(abortedEarly)); // forgotten: presumed abort, which it was

        // Its participants still prepared: the commit is committed, the forgotten abort aborted.
        var ledger = new PreparedResource("ledger", prepared, abortedEarly);
        var shop = new PreparedResource("shop", prepared);
        var report = await new RecoveryManager(second, [ledger, shop], "recoverer", _ => false, TimeSpan.Zero).RecoverAsync();

        Assert.Equal((1, 1, 0), (report.Committed, report.Aborted, report.InDoubt));
        Assert.Equal([prepared], ledger.Committed);
        Assert.Equal([prepared], shop.Committed);
        Assert.Equal([abortedEarly], ledger.Aborted);
    }

    /// <summary>Appends, and at every checkpoint offset waits for its checkpoint: a process writes one at a time.</summary>
    private static async Task AppendAsync(KafkaCommitLog log, LogRecord record)
    {
        var position = (await log.AppendAsync(record)).Position.Value;
        if ((position + 1) % 100 == 0)
        {
            await Poll.UntilAsync(() => Task.FromResult(log.LastCheckpoint?.Offset == position), Patience, $"the checkpoint at {position}");
            await log.CheckpointWrittenAsync();
        }
    }

    [Fact]
    public async Task A_late_commit_of_a_forgotten_abort_is_refused_in_every_process_and_reading_before_it_once_it_is_forgotten_says_so()
    {
        var address = await _cluster.CreateLogAsync();
        await using var a = await OpenAsync(address, node: "a");
        await using var b = await OpenAsync(address, node: "b");
        var t0 = DateTimeOffset.UtcNow - TimeSpan.FromHours(1);

        // Recovery aborted a stalled coordinator's transaction (prepared more than PrepareLease ago) and ended it.
        var stalled = Id(t0);
        await b.AppendAsync(At(LogRecords.New(LogRecordKind.Abort, stalled, "b"), t0 + TimeSpan.FromMinutes(1)));
        await b.AppendAsync(At(LogRecords.New(LogRecordKind.End, stalled, "b"), t0 + TimeSpan.FromMinutes(1)));

        // Thirteen minutes of log clock later both processes forgot that abort.
        await EndedAsync(a, t0 + TimeSpan.FromMinutes(14));
        Assert.Null(await a.GetDecisionAsync(stalled));
        Assert.Null(await b.GetDecisionAsync(stalled));

        // The coordinator wakes up and appends its commit record: refused, everywhere, as too old.
        var late = await a.AppendAsync(At(LogRecords.New(LogRecordKind.Commit, stalled, "a"), t0 + TimeSpan.FromMinutes(14)));
        Assert.Equal(LogRecordKind.Abort, late.Decision);
        Assert.Contains("more than 10 min before the log's clock", late.Refusal?.Reason, StringComparison.Ordinal);
        foreach (var log in new[] { a, b })
        {
            var decision = await log.GetDecisionAsync(stalled);
            Assert.Equal(LogRecordKind.Abort, decision?.Record.Kind);
            Assert.StartsWith("refused by certification in log order: ", decision?.Record.Reason, StringComparison.Ordinal);
        }

        // A transaction that began within the limit commits.
        var young = Id(t0 + TimeSpan.FromMinutes(5));
        Assert.Equal(LogRecordKind.Commit, (await a.AppendAsync(At(LogRecords.New(LogRecordKind.Commit, young), t0 + TimeSpan.FromMinutes(14)))).Decision);

        // Recovery ends the refused one; 13 minutes later its outcome is forgotten too, and a reader from
        // before it (further back than the 40 records held in memory) can no longer be shown that record
        // as the abort it became.
        await a.AppendAsync(At(LogRecords.New(LogRecordKind.End, stalled), t0 + TimeSpan.FromMinutes(14)));
        for (var i = 0; i < 30; i++)
        {
            await EndedAsync(a, t0 + TimeSpan.FromMinutes(27));
        }

        var gap = await Assert.ThrowsAsync<CommitLogTruncatedException>(() => All(b.ReadFromAsync(LogPosition.Start)));
        Assert.Equal(late.Position.Value + 1, gap.FirstAvailable);
        var rest = await All(b.ReadFromAsync(new LogPosition(gap.FirstAvailable)));
        Assert.Equal(gap.FirstAvailable, rest[0].Position.Value);
        Assert.Equal(LogRecordKind.End, rest[^1].Record.Kind);
    }

    [Fact]
    public async Task Records_no_longer_held_in_memory_are_read_from_the_topic_as_they_were_applied()
    {
        var address = await _cluster.CreateLogAsync();
        await using var log = await OpenAsync(address);
        var now = DateTimeOffset.UtcNow;
        var oldId = Id(now - TimeSpan.FromHours(1));
        var refused = await log.AppendAsync(At(LogRecords.New(LogRecordKind.Commit, oldId), now)); // too old: refused
        for (var i = 0; i < 60; i++)
        {
            await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, TransactionId.New()));
        }

        var all = await All(log.ReadFromAsync(LogPosition.Start));

        Assert.Equal(Enumerable.Range(0, 61).Select(i => (long)i), all.Select(r => r.Position.Value));
        Assert.Equal(LogRecordKind.Abort, all[(int)refused.Position.Value].Record.Kind); // read from the topic, shown as its outcome
        Assert.All(all.Skip(1), r => Assert.Equal(LogRecordKind.Commit, r.Record.Kind));
        Assert.InRange(log.IndexSize.RecordsHeld, 40, 45);
    }

    private Task<KafkaCommitLog> OpenAsync(string address, int interval = 0, string node = "test")
        => KafkaCommitLog.OpenAsync(new KafkaCommitLogOptions
        {
            Address = KafkaLogAddress.Parse(address),
            ClientSettings = new Dictionary<string, string>
            {
                [KafkaCommitLogOptions.CheckpointIntervalKey] = interval.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["fetch.wait.max.ms"] = "1", // the mock waits a fetch out: a short wait keeps 1,400 appends quick
            },
            NodeId = node,
            OutcomeLimits = Limits,
        });

    /// <summary>A committed transaction that ended, at <paramref name="at"/>: moves the log's clock there.</summary>
    private static async Task EndedAsync(KafkaCommitLog log, DateTimeOffset at)
    {
        var id = Id(at);
        await log.AppendAsync(At(LogRecords.New(LogRecordKind.Commit, id), at));
        await log.AppendAsync(At(LogRecords.New(LogRecordKind.End, id), at));
    }

    private static TransactionId Id(DateTimeOffset createdAt) => new(Guid.CreateVersion7(createdAt));

    private static LogRecord At(LogRecord record, DateTimeOffset timestamp) => record with { Timestamp = timestamp };

    private static async Task<List<LoggedRecord>> All(IAsyncEnumerable<LoggedRecord> records)
    {
        var list = new List<LoggedRecord>();
        await foreach (var record in records)
        {
            list.Add(record);
        }

        return list;
    }

    /// <summary>A backend holding some transactions prepared since long ago, recording how recovery settles each.</summary>
    private sealed class PreparedResource(string name, params TransactionId[] prepared) : IRecoverableResource
    {
        public string Name => name;

        public List<TransactionId> Committed { get; } = [];

        public List<TransactionId> Aborted { get; } = [];

        public ValueTask<IReadOnlyList<PreparedTransaction>> ListPreparedAsync(CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyList<PreparedTransaction>>(
                [.. prepared.Where(id => !Committed.Contains(id) && !Aborted.Contains(id)).Select(id => new PreparedTransaction(id, DateTimeOffset.UnixEpoch))]);

        public ValueTask CommitAsync(TransactionId transactionId, ParticipantVote vote, CancellationToken cancellationToken)
        {
            Committed.Add(transactionId);
            return ValueTask.CompletedTask;
        }

        public ValueTask AbortAsync(TransactionId transactionId, CancellationToken cancellationToken)
        {
            Aborted.Add(transactionId);
            return ValueTask.CompletedTask;
        }
    }
}
