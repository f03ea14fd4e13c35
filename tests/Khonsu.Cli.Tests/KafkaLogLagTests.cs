using System.Text.Json;
using Khonsu.Data;
using Khonsu.TestSupport;
using Khonsu.Testing;

namespace Khonsu.Cli.Tests;

/// <summary>
/// `khonsu log lag` and the processes in `khonsu status` for a Kafka log, with two live
/// application processes on it (this test process and a child stopped after logging its
/// decision): each one's applied position and checkpoint as it published them, and the lag.
/// </summary>
public class KafkaLogLagTests
{
    [Fact]
    public async Task Log_lag_and_status_show_each_live_process_its_position_checkpoint_and_lag()
    {
        await using var db = await CliDatabases.CreateAsync();
        await using var cluster = await KafkaMockCluster.StartAsync();
        // Positions every second; a checkpoint after every record, so each process has one to show.
        var connectionString = db.KafkaConnectionString(await cluster.CreateLogAsync(), ";Kafka.PositionSeconds=1;Kafka.CheckpointInterval=1");
        var install = await CliRun.RunAsync(connectionString, "schema", "install");
        Assert.True(install.ExitCode == 0, install.ToString());

        // The first process: this one, with a runtime open on the log, after a commit of its own.
        var first = connectionString + ";Node=lag-first";
        await using (var connection = new KhonsuConnection(first))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE accounts SET balance = balance - 5 WHERE id = 1";
            await command.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        // The second: a child stopped after its commit record is in the log, alive, its transaction in doubt.
        await using var child = await CrashChild.StopAtAsync(connectionString + ";Node=lag-second", "AfterDecisionLogged", 1, amount: 40);

        JsonElement[] processes = [];
        long end = 0;
        await Poll.UntilAsync(
            async () =>
            {
                var lag = await CliRun.RunAsync(connectionString, "log", "lag", "--json");
                Assert.True(lag.ExitCode == 0, lag.ToString());
                using var document = JsonDocument.Parse(lag.Stdout);
                end = document.RootElement.GetProperty("end").GetInt64();
                processes = [.. document.RootElement.GetProperty("processes").EnumerateArray().Select(p => p.Clone())];
                return processes.Length == 2 && processes.All(p => p.GetProperty("lagRecords").GetInt64() == 0);
            },
            TimeSpan.FromSeconds(60),
            "both processes publishing a position at the log's end");

        Assert.Equal(3, end); // the first's COMMIT and END, the child's COMMIT
        Assert.Equal(["lag-first", "lag-second"], processes.Select(p => p.GetProperty("process").GetString()));
        foreach (var process in processes)
        {
            Assert.Equal(end - 1, process.GetProperty("appliedPosition").GetInt64());
            Assert.InRange(process.GetProperty("checkpointPosition").GetInt64(), 0, end - 1);
            Assert.Equal(0, process.GetProperty("lagSeconds").GetDouble());
        }

        var text = await CliRun.RunAsync(connectionString, "log", "lag");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Matches(@"process\s+applied\s+checkpoint\s+lag records\s+lag\s+published", text.Stdout);
        Assert.Matches(@"lag-first\s+2\s+\d\s+0\s+0\.0 s\s+\d+\.\d s ago", text.Stdout);
        Assert.Matches(@"lag-second\s+2\s+\d\s+0\s+0\.0 s\s+\d+\.\d s ago", text.Stdout);

        var status = await CliRun.RunAsync(connectionString, "status");
        Assert.True(status.ExitCode == 2, status.ToString()); // the child's transaction is in doubt
        Assert.Contains("processes (as each last published itself):", status.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"lag-first\s+2\s", status.Stdout);
        Assert.Matches(@"lag-second\s+2\s", status.Stdout);
        Assert.Contains(child.TransactionId, status.Stdout, StringComparison.Ordinal);
        using (var json = JsonDocument.Parse((await CliRun.RunAsync(connectionString, "status", "--json")).Stdout))
        {
            Assert.Equal(2, json.RootElement.GetProperty("log").GetProperty("processes").GetArrayLength());
            Assert.Contains(json.RootElement.GetProperty("inDoubt").EnumerateArray(), t => t.GetProperty("txId").GetString() == child.TransactionId);
        }

        // khonsu top shows the same processes beside its rates, and the child's commit in doubt.
        var top = await CliRun.RunAsync(connectionString, "top", "--json", "--count", "1", "--window", "3600", "--in-doubt-after", "0");
        Assert.True(top.ExitCode == 0, top.ToString());
        using (var json = JsonDocument.Parse(top.Stdout))
        {
            Assert.Equal(end, json.RootElement.GetProperty("logEnd").GetInt64());
            Assert.Equal(["lag-first", "lag-second"], json.RootElement.GetProperty("processes").EnumerateArray().Select(p => p.GetProperty("process").GetString()));
            Assert.Equal(2, json.RootElement.GetProperty("commits").GetInt32()); // the first's commit and the child's, both decided in the log
            Assert.Contains(json.RootElement.GetProperty("inDoubt").EnumerateArray(), t => t.GetProperty("txId").GetString() == child.TransactionId);
        }

        var topText = await CliRun.RunAsync(connectionString, "top", "--count", "1");
        Assert.Contains("processes of the Kafka log (end: offset 3)", topText.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"lag-first\s+2\s+0\s", topText.Stdout);

        // A process that closes cleanly leaves: its runtime's log publishes a tombstone as it closes.
        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(first));
        var after = await CliRun.RunAsync(connectionString, "log", "lag", "--json");
        using (var document = JsonDocument.Parse(after.Stdout))
        {
            Assert.Equal(["lag-second"], document.RootElement.GetProperty("processes").EnumerateArray().Select(p => p.GetProperty("process").GetString()));
        }

        // One killed stays, at its last position: once another process appends, it lags, in records and in time.
        await child.KillAsync();
        var third = connectionString + ";Node=lag-third";
        await using (var connection = new KhonsuConnection(third))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO orders (id, account_id, amount) VALUES (2000, 1, 1)";
            await command.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(third));
        var stale = await CliRun.RunAsync(connectionString, "log", "lag", "--json");
        using (var document = JsonDocument.Parse(stale.Stdout))
        {
            var killed = Assert.Single(document.RootElement.GetProperty("processes").EnumerateArray());
            Assert.Equal("lag-second", killed.GetProperty("process").GetString());
            Assert.Equal(document.RootElement.GetProperty("end").GetInt64() - 3, killed.GetProperty("lagRecords").GetInt64()); // offsets 3.. were appended after it died
            Assert.True(killed.GetProperty("lagSeconds").GetDouble() > 0, stale.Stdout);
        }
    }

    [Fact]
    public async Task Log_lag_of_an_embedded_log_is_refused_with_the_reason()
    {
        await using var db = await CliDatabases.CreateAsync();
        var lag = await CliRun.RunAsync(db.ConnectionString(), "log", "lag");
        Assert.True(lag.ExitCode == 1, lag.ToString());
        Assert.Contains("log lag is for a Kafka log", lag.Stderr, StringComparison.Ordinal);
    }
}
