using System.Text.Json;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.Tests;

/// <summary>`khonsu status`, `log tail` and `log show` after a transaction committed across SQLite and PostgreSQL.</summary>
public class LogAndStatusTests
{
    [Fact]
    public async Task Status_and_the_log_commands_describe_a_committed_transaction()
    {
        await using var db = await CliDatabases.CreateAsync();
        var transactionId = await db.CommitTransferAsync(amount: 30);

        var status = await CliRun.RunAsync(db.ConnectionString(), "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("ledger  Sqlite    reachable", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("shop    Postgres  reachable", status.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Commit log: {db.LogPath}", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("last position 2", status.Stdout, StringComparison.Ordinal); // COMMIT, END
        Assert.Contains("In doubt: none", status.Stdout, StringComparison.Ordinal);

        var tail = await CliRun.RunAsync(db.ConnectionString(), "log", "tail", "-n", "5");
        Assert.True(tail.ExitCode == 0, tail.ToString());
        var lines = tail.Stdout.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^#1  \S+Z  COMMIT  {transactionId}  node=\S+  ledger \(1 row, row images for redo\), shop \(1 row\)", lines[0]);
        Assert.Matches($@"^#2  \S+Z  END     {transactionId}  node=", lines[1]);

        var show = await CliRun.RunAsync(db.ConnectionString(), "log", "show", transactionId);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains($"Transaction {transactionId}", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("#1  COMMIT  at ", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("UPDATE accounts [1] version 1 -> 2  image: 4 columns (id, owner, balance, version)", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("INSERT orders [1030] version none -> 1", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("#2  END  at ", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("ledger  COMMITTED  decision COMMIT", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("shop  COMMITTED  decision COMMIT", show.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("'ada'", show.Stdout, StringComparison.Ordinal); // values only with --values

        var values = await CliRun.RunAsync(db.ConnectionString(), "log", "show", transactionId, "--values");
        Assert.Contains("image: id=1, owner='ada', balance=70, version=2", values.Stdout, StringComparison.Ordinal);

        var json = await CliRun.RunAsync(db.ConnectionString(), "log", "show", transactionId, "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using (var document = JsonDocument.Parse(json.Stdout))
        {
            var records = document.RootElement.GetProperty("records");
            Assert.Equal(["COMMIT", "END"], records.EnumerateArray().Select(r => r.GetProperty("kind").GetString()!));
            var participants = records[0].GetProperty("participants").EnumerateArray().ToList();
            Assert.Equal(["ledger", "shop"], participants.Select(p => p.GetProperty("name").GetString()!));
            Assert.True(participants[0].GetProperty("needsRedo").GetBoolean());
            Assert.Equal("orders", participants[1].GetProperty("writes")[0].GetProperty("table").GetString());
        }

        var tailJson = await CliRun.RunAsync(db.ConnectionString(), "log", "tail", "--json");
        Assert.All(tailJson.Stdout.Trim().Split('\n'), line => Assert.Equal(transactionId, JsonDocument.Parse(line).RootElement.GetProperty("txId").GetString()));

        var unknown = Guid.CreateVersion7().ToString();
        var notFound = await CliRun.RunAsync(db.ConnectionString(), "log", "show", unknown);
        Assert.True(notFound.ExitCode == 2, notFound.ToString());
        Assert.Contains($"transaction {unknown} is not in the commit log", notFound.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_says_what_truncation_deleted_and_log_show_tells_a_truncated_transaction_from_one_never_logged()
    {
        await using var db = await CliDatabases.CreateAsync();
        var transactionId = await db.CommitTransferAsync(amount: 30);
        await using (var log = EmbeddedCommitLog.Open(db.LogPath))
        {
            Assert.Equal(2, await log.TruncateEndedAsync(DateTimeOffset.UtcNow.AddMinutes(2), _ => false));
        }

        var status = await CliRun.RunAsync(db.ConnectionString(), "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("holds 0 records (an ended transaction's go a minute after its end, truncated up to position 2)", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("transaction_log: 2 rows, oldest decided ", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("kept 7d00h after a transaction finishes (TransactionLogRetention)", status.Stdout, StringComparison.Ordinal);

        var show = await CliRun.RunAsync(db.ConnectionString(), "log", "show", transactionId);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("its records are no longer in the log: it ended", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("ledger  COMMITTED  decision COMMIT", show.Stdout, StringComparison.Ordinal);

        var json = await CliRun.RunAsync(db.ConnectionString(), "status", "--json");
        using var document = JsonDocument.Parse(json.Stdout);
        Assert.Equal(2, document.RootElement.GetProperty("log").GetProperty("truncatedThrough").GetInt64());
    }
}
