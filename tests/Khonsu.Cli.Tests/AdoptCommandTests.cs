using Khonsu.Data;

namespace Khonsu.Cli.Tests;

/// <summary>
/// `khonsu log adopt` moves the databases of a connection string to its log, from the log that
/// governed them: refused while the old log holds undecided work there, done once recovery
/// finished it; then the new log is the one that opens, and the old one is refused.
/// </summary>
public class AdoptCommandTests
{
    [Fact]
    public async Task Adopt_refuses_while_the_old_log_has_undecided_work_then_moves_the_databases()
    {
        await using var db = await CliDatabases.CreateAsync();
        var newLog = db.Directory.File("new-log.db");
        var moved = db.ConnectionString().Replace(db.LogPath, newLog, StringComparison.Ordinal);
        await db.CommitTransferAsync(amount: 5); // the databases belong to the old log from now on

        // Killed once its commit is logged: the old log holds a decision that is not finished on either database.
        var transactionId = await db.CrashChildAtAsync("AfterDecisionLogged", 1, amount: 25);
        var fenced = await Assert.ThrowsAsync<KhonsuException>(() => db.CommitTransferAsync(amount: 30, moved));
        Assert.Contains("belongs to another commit log", fenced.Message, StringComparison.Ordinal);

        var refused = await CliRun.RunAsync(moved, "log", "adopt", "--from", db.LogPath);
        Assert.True(refused.ExitCode == 4, refused.ToString());
        Assert.Contains("log adopt refused, nothing moved: ", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains($"backend 'ledger' holds undecided work of the old log: 1 transaction ({transactionId}: COMMIT logged, not finished there)", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains($"backend 'shop' holds undecided work of the old log: 1 transaction ({transactionId}: COMMIT logged, not finished there)", refused.Stderr, StringComparison.Ordinal);

        var recover = await CliRun.RunAsync(db.ConnectionString(), "recover");
        Assert.True(recover.ExitCode == 0, recover.ToString());
        var adopt = await CliRun.RunAsync(moved, "log", "adopt", "--from", db.LogPath);
        Assert.True(adopt.ExitCode == 0, adopt.ToString());
        Assert.Contains($"Databases now governed by embedded log {newLog} (log id ", adopt.Stdout, StringComparison.Ordinal);
        Assert.Contains($"moved from embedded log {db.LogPath} (log id ", adopt.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"ledger  moved\n", adopt.Stdout);
        Assert.Matches(@"shop    moved\n", adopt.Stdout);

        await db.CommitTransferAsync(amount: 30, moved);
        Assert.Equal(40L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1")); // 100 - 5 - 25 - 30
        var old = await Assert.ThrowsAsync<KhonsuException>(() => db.CommitTransferAsync(amount: 35));
        Assert.Contains($"it records embedded log {newLog}", old.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adopt_needs_the_old_log_or_an_explicit_word_that_it_is_lost()
    {
        await using var db = await CliDatabases.CreateAsync();
        await db.CommitTransferAsync(amount: 5);
        var fresh = db.ConnectionString().Replace(db.LogPath, db.Directory.File("fresh.db"), StringComparison.Ordinal);

        var usage = await CliRun.RunAsync(fresh, "log", "adopt");
        Assert.True(usage.ExitCode == 1, usage.ToString());

        File.Delete(db.LogPath); // the old log is gone
        var lost = await CliRun.RunAsync(fresh, "log", "adopt", "--old-log-lost");
        Assert.True(lost.ExitCode == 0, lost.ToString());
        Assert.Contains("(the old log was not read: --old-log-lost)", lost.Stdout, StringComparison.Ordinal);
        await db.CommitTransferAsync(amount: 10, fresh);
    }
}
