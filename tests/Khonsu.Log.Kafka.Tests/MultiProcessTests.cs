using Khonsu.Data;
using Khonsu.Engine;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// Separate OS processes commit concurrently through one Kafka log to the same SQLite and
/// PostgreSQL databases; one is killed at a protocol step and another finishes its transaction.
/// </summary>
public sealed class MultiProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_processes_committing_concurrently_agree_on_every_outcome_and_lose_no_update()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        const string extra = ";LockTimeout=2";
        await db.InstallAsync(extra);

        using var first = ChildProcess.Start("work", db.ConnectionString(extra), 12, 2, 1000, KafkaDatabases.Accounts);
        using var second = ChildProcess.Start("work", db.ConnectionString(extra), 12, 2, 2000, KafkaDatabases.Accounts);
        var outcomes = (await first.ReadUntilAsync("DONE", Patience)).Concat(await second.ReadUntilAsync("DONE", Patience))
            .Where(l => l.StartsWith("OUTCOME ", StringComparison.Ordinal))
            .Select(l => l.Split(' '))
            .ToList();
        Assert.Equal(48, outcomes.Count);

        // Each process reads the whole log on its own: both must see the same decision for every transaction.
        await first.SendAsync("view");
        await second.SendAsync("view");
        var firstView = View(await first.ReadUntilAsync("END", Patience));
        var secondView = View(await second.ReadUntilAsync("END", Patience));
        Assert.Equal(firstView, secondView);

        var committed = outcomes.Where(o => o[3] == "COMMIT").ToList();
        Assert.NotEmpty(committed);
        foreach (var outcome in outcomes)
        {
            var logged = firstView.GetValueOrDefault(outcome[1], "NONE");
            Assert.Equal(outcome[3] == "COMMIT" ? "COMMIT" : logged == "NONE" ? "NONE" : "ABORT", logged);
        }

        // The databases hold exactly the committed transactions, and balances match orders.
        Assert.Equal(committed.Select(o => int.Parse(o[2], System.Globalization.CultureInfo.InvariantCulture)).Order(), (await db.OrdersAsync()).Select(o => o.Id));
        await db.AssertBalancesMatchOrdersAsync();
        Assert.Equal(0, await first.WaitForExitAsync(Patience));
        Assert.Equal(0, await second.WaitForExitAsync(Patience));
    }

    [Theory]
    [InlineData(nameof(CommitStep.AfterParticipantPrepared), 2, false)] // PostgreSQL prepared, no decision: another process aborts it after the lease
    [InlineData(nameof(CommitStep.AfterDecisionLogged), 1, true)] // decision in Kafka, nothing finished: another process commits both, SQLite redone from the log
    [InlineData(nameof(CommitStep.AfterAllPrepared), 1, false)] // both prepared, no decision
    [InlineData(nameof(CommitStep.AfterParticipantFinished), 1, true)] // SQLite committed, PostgreSQL still prepared
    [InlineData(nameof(CommitStep.BeforeEndRecord), 1, true)] // both finished, no end record
    public async Task A_process_killed_mid_commit_is_finished_by_another_from_the_kafka_log(string stepName, int occurrence, bool committed)
    {
        var step = Enum.Parse<CommitStep>(stepName); // by name: CommitStep is internal to the engine, a theory public
        await using var db = await KafkaDatabases.CreateAsync();
        const string extra = ";PrepareLease=0.001";
        await db.InstallAsync(extra);

        using var child = ChildProcess.Start("crash", db.ConnectionString(extra), step, occurrence, 25);
        var at = (await child.ReadUntilAsync("AT ", Patience))[^1].Split(' ');
        await child.KillAsync();
        var transactionId = TransactionId.Parse(at[2]);

        await using var survivor = await db.OpenAsync(extra);
        await survivor.RecoverAsync();

        var decision = await survivor.Runtime.Log.GetDecisionAsync(transactionId);
        Assert.Equal(committed ? LogRecordKind.Commit : LogRecordKind.Abort, decision?.Record.Kind);
        var balance = await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1");
        var orders = Convert.ToInt64(await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 1025"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(committed ? (975L, 1L) : (1000L, 0L), (balance, orders));
        await db.AssertBalancesMatchOrdersAsync();

        // Finished means an end record: nothing left for recovery, and running it again changes nothing.
        await foreach (var unfinished in survivor.Runtime.Log.ReadUnfinishedAsync())
        {
            Assert.NotEqual(transactionId, unfinished.Record.TransactionId);
        }

        await survivor.RecoverAsync();
        Assert.Equal(balance, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Theory]
    [InlineData(nameof(CommitStep.AfterDecisionLogged), 1)] // decision in Kafka, nothing finished
    [InlineData(nameof(CommitStep.AfterParticipantFinished), 1)] // SQLite committed, PostgreSQL still prepared
    public async Task A_process_that_runs_on_sweeps_and_finishes_what_a_crashed_peer_decided(string stepName, int occurrence)
    {
        var step = Enum.Parse<CommitStep>(stepName); // by name: CommitStep is internal to the engine, a theory public
        // Two application processes at once: this one is open before its peer commits and stays
        // open through the peer's crash; its sweep (a recovery pass, as RecoveryInterval runs it,
        // with a lease long over) must commit the peer's transaction everywhere, never half of it.
        await using var db = await KafkaDatabases.CreateAsync();
        const string extra = ";PrepareLease=0.001";
        await db.InstallAsync(extra);
        await using var survivor = await db.OpenAsync(extra);

        using var peer = ChildProcess.Start("crash", db.ConnectionString(extra), step, occurrence, 25);
        var transactionId = TransactionId.Parse((await peer.ReadUntilAsync("AT ", Patience))[^1].Split(' ')[2]);
        await peer.KillAsync();
        await survivor.RecoverAsync();

        Assert.Equal(LogRecordKind.Commit, (await survivor.Runtime.Log.GetDecisionAsync(transactionId))?.Record.Kind);
        Assert.Equal(975L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(1L, Convert.ToInt64(await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 1025"), System.Globalization.CultureInfo.InvariantCulture));
        await db.AssertBalancesMatchOrdersAsync();
    }

    private static Dictionary<string, string> View(List<string> lines)
        => lines.Where(l => l.StartsWith("VIEW ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToDictionary(p => p[1], p => p[2]);
}
