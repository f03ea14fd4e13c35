using System.Text.Json;

namespace Khonsu.Cli.Tests;

/// <summary>
/// `khonsu recover` on databases left with an in-doubt transaction by a process killed (SIGKILL)
/// in the middle of its commit: the tool finishes it, and both databases agree with the log.
/// </summary>
public class RecoverCommandTests
{
    [Fact]
    public async Task Recover_commits_a_transaction_killed_after_its_decision_was_logged()
    {
        await using var db = await CliDatabases.CreateAsync();
        var install = await CliRun.RunAsync(db.ConnectionString(), "schema", "install");
        Assert.True(install.ExitCode == 0, install.ToString());

        // Killed after the COMMIT record is durable: SQLite's local transaction is lost, PostgreSQL's is prepared.
        var transactionId = await db.CrashChildAtAsync("AfterDecisionLogged", 1, amount: 25);
        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));

        var status = await CliRun.RunAsync(db.ConnectionString(), "status");
        Assert.True(status.ExitCode == 2, status.ToString());
        Assert.Contains("In doubt: 1 transaction", status.Stdout, StringComparison.Ordinal);
        Assert.Matches($@"{transactionId}  COMMIT logged \S+ ago at position 1, not finished", status.Stdout);
        Assert.Matches(@"ledger  to finish  1 row", status.Stdout);
        Assert.Matches(@"shop    prepared   1 row", status.Stdout);

        var statusJson = await CliRun.RunAsync(db.ConnectionString(), "status", "--json");
        using (var document = JsonDocument.Parse(statusJson.Stdout))
        {
            var inDoubt = Assert.Single(document.RootElement.GetProperty("inDoubt").EnumerateArray());
            Assert.Equal(transactionId, inDoubt.GetProperty("txId").GetString());
            Assert.Equal("COMMIT", inDoubt.GetProperty("decision").GetString());
        }

        var recover = await CliRun.RunAsync(db.ConnectionString(), "recover");
        Assert.True(recover.ExitCode == 0, recover.ToString());
        Assert.Contains($"[1/1] {transactionId} committed", recover.Stdout, StringComparison.Ordinal);
        Assert.Contains("Committed 1, aborted 0.", recover.Stdout, StringComparison.Ordinal);
        Assert.Contains("In doubt: none", recover.Stdout, StringComparison.Ordinal);

        // Both databases agree with the log.
        Assert.Equal(75L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 1025"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], await db.TransactionLogAsync(transactionId));

        var again = await CliRun.RunAsync(db.ConnectionString(), "recover", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        using (var document = JsonDocument.Parse(again.Stdout))
        {
            Assert.Equal(0, document.RootElement.GetProperty("committed").GetInt32());
            Assert.Equal(0, document.RootElement.GetProperty("inDoubt").GetArrayLength());
        }

        Assert.Equal(75L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        var after = await CliRun.RunAsync(db.ConnectionString(), "status");
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    [Fact]
    public async Task Recover_aborts_at_once_a_transaction_prepared_with_no_decision_by_a_process_that_died()
    {
        // The default lease (60 s) is not waited for: the tool holds the embedded log, so no one
        // else can still decide a transaction of it.
        await using var db = await CliDatabases.CreateAsync();
        var install = await CliRun.RunAsync(db.ConnectionString(), "schema", "install");
        Assert.True(install.ExitCode == 0, install.ToString());

        // Killed after PostgreSQL prepared (the second participant), before any decision was logged.
        var transactionId = await db.CrashChildAtAsync("AfterParticipantPrepared", 2, amount: 40);

        var status = await CliRun.RunAsync(db.ConnectionString(), "status");
        Assert.True(status.ExitCode == 2, status.ToString());
        Assert.Contains($"{transactionId}  prepared ", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("no decision logged; the process holding the log aborts it at its next recovery pass", status.Stdout, StringComparison.Ordinal);

        var recover = await CliRun.RunAsync(db.ConnectionString(), "recover");
        Assert.True(recover.ExitCode == 0, recover.ToString());
        Assert.Contains($"{transactionId} aborted", recover.Stdout, StringComparison.Ordinal);
        Assert.Contains("Committed 0, aborted 1.", recover.Stdout, StringComparison.Ordinal);

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.All(await db.TransactionLogAsync(transactionId), row => Assert.EndsWith(":ABORT", row, StringComparison.Ordinal));

        var show = await CliRun.RunAsync(db.ConnectionString(), "log", "show", transactionId);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("ABORT", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("with no decision logged by a process that no longer runs", show.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recover_refuses_to_start_a_new_log_when_the_log_file_is_missing()
    {
        await using var db = await CliDatabases.CreateAsync();
        var run = await CliRun.RunAsync(db.ConnectionString(), "recover");

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains($"the commit log '{db.LogPath}' does not exist", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(db.LogPath));
    }
}
