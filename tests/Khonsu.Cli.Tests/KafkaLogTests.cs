using System.Text.Json;
using Khonsu.TestSupport;
using Khonsu.Testing;

namespace Khonsu.Cli.Tests;

/// <summary>
/// The khonsu tool with Log=kafka://... (librdkafka's mock cluster in its own process): status,
/// log tail and show, in-doubt transactions and recover read the Kafka log, and transaction_log
/// comes from the backend TransactionLog names.
/// </summary>
public class KafkaLogTests
{
    [Fact]
    public async Task Status_and_the_log_commands_read_the_kafka_log_and_its_materialised_transaction_log()
    {
        await using var db = await CliDatabases.CreateAsync();
        await using var cluster = await KafkaMockCluster.StartAsync();
        var log = await cluster.CreateLogAsync();
        var connectionString = db.KafkaConnectionString(log, ";TransactionLog=shop");
        var transactionId = await CommitAndMaterialiseAsync(db, connectionString, amount: 30);

        var status = await CliRun.RunAsync(connectionString, "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains($"Commit log: {log}", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("last position 1", status.Stdout, StringComparison.Ordinal); // COMMIT at offset 0, END at 1
        Assert.Contains("transaction_log: khonsu.transaction_log on backend shop, applied up to position 1", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("In doubt: none", status.Stdout, StringComparison.Ordinal);
        var check = await CliRun.RunAsync(connectionString, "schema", "check");
        Assert.True(check.ExitCode == 0, check.ToString());

        var tail = await CliRun.RunAsync(connectionString, "log", "tail", "-n", "5");
        Assert.True(tail.ExitCode == 0, tail.ToString());
        var lines = tail.Stdout.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^#0  \S+Z  COMMIT  {transactionId}  node=\S+  ledger \(1 row, row images for redo\), shop \(1 row\)", lines[0]);
        Assert.Matches($@"^#1  \S+Z  END     {transactionId}  node=", lines[1]);
        Assert.Single((await CliRun.RunAsync(connectionString, "log", "tail", "-n", "1")).Stdout.Trim().Split('\n'));

        var show = await CliRun.RunAsync(connectionString, "log", "show", transactionId);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("#0  COMMIT  at ", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("INSERT orders [1030] version none -> 1", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("#1  END  at ", show.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"ledger  COMMITTED  decision COMMIT  finished \S+Z", show.Stdout);
        Assert.Contains("shop  COMMITTED  decision COMMIT", show.Stdout, StringComparison.Ordinal);

        var json = await CliRun.RunAsync(connectionString, "status", "--json");
        using (var document = JsonDocument.Parse(json.Stdout))
        {
            var logJson = document.RootElement.GetProperty("log");
            Assert.Equal(("kafka", 1L), (logJson.GetProperty("kind").GetString(), logJson.GetProperty("lastPosition").GetInt64()));
            Assert.Equal(1L, logJson.GetProperty("transactionLog").GetProperty("appliedPosition").GetInt64());
        }

        // Without TransactionLog the records are all there; transaction_log is not, and show says why.
        var bare = await CliRun.RunAsync(db.KafkaConnectionString(log), "log", "show", transactionId);
        Assert.True(bare.ExitCode == 0, bare.ToString());
        Assert.Contains("transaction_log: not available (a Kafka log has no transaction_log unless TransactionLog=<backend>", bare.Stdout, StringComparison.Ordinal);

        var unknown = Guid.CreateVersion7().ToString();
        var notFound = await CliRun.RunAsync(connectionString, "log", "show", unknown);
        Assert.True(notFound.ExitCode == 2, notFound.ToString());
        Assert.Contains($"transaction {unknown} is not in the commit log '{log}'", notFound.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_shows_a_transaction_in_doubt_in_the_kafka_log_and_recover_finishes_it()
    {
        await using var db = await CliDatabases.CreateAsync();
        await using var cluster = await KafkaMockCluster.StartAsync();
        var connectionString = db.KafkaConnectionString(await cluster.CreateLogAsync());
        var install = await CliRun.RunAsync(connectionString, "schema", "install");
        Assert.True(install.ExitCode == 0, install.ToString());

        var transactionId = await CliDatabases.CrashChildAtAsync(connectionString, "AfterDecisionLogged", 1, amount: 25);

        // No process has materialised transaction_log yet: schema check says so, schema install creates it.
        var withTransactionLog = connectionString + ";TransactionLog=shop";
        var check = await CliRun.RunAsync(withTransactionLog, "schema", "check");
        Assert.True(check.ExitCode == 2, check.ToString());
        Assert.Contains("missing: Khonsu's table khonsu.transaction_log (TransactionLog=shop)", check.Stdout, StringComparison.Ordinal);
        Assert.True((await CliRun.RunAsync(withTransactionLog, "schema", "install")).ExitCode == 0);
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM khonsu.transaction_log"));

        var status = await CliRun.RunAsync(connectionString, "status");
        Assert.True(status.ExitCode == 2, status.ToString());
        Assert.Matches($@"{transactionId}  COMMIT logged \S+ ago at position 0, not finished", status.Stdout);
        Assert.Matches(@"ledger  to finish  1 row", status.Stdout);
        Assert.Matches(@"shop    prepared   1 row", status.Stdout);

        var recover = await CliRun.RunAsync(connectionString, "recover");
        Assert.True(recover.ExitCode == 0, recover.ToString());
        Assert.Contains($"[1/1] {transactionId} committed", recover.Stdout, StringComparison.Ordinal);
        Assert.Equal(75L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));

        var tail = await CliRun.RunAsync(connectionString, "log", "tail");
        Assert.Matches($@"#1  \S+Z  END     {transactionId}  node=khonsu-cli@", tail.Stdout);
        var after = await CliRun.RunAsync(connectionString, "status");
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    [Fact]
    public async Task An_unreachable_kafka_log_is_exit_code_3_and_its_secrets_stay_out()
    {
        await using var db = await CliDatabases.CreateAsync();
        const string secret = "Hunter2-cli-secret";
        var connectionString = db.KafkaConnectionString(
            "kafka://127.0.0.1:1/khonsu-log", $";Kafka.message.timeout.ms=1000;Kafka.security.protocol=sasl_plaintext;Kafka.sasl.mechanism=PLAIN;Kafka.sasl.username=u;Kafka.sasl.password={secret}");

        var status = await CliRun.RunAsync(connectionString, "status");
        Assert.True(status.ExitCode == 3, status.ToString());
        Assert.Contains("ledger  Sqlite    reachable", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("UNREACHABLE", status.Stdout, StringComparison.Ordinal);

        var tail = await CliRun.RunAsync(connectionString, "log", "tail");
        Assert.True(tail.ExitCode == 3, tail.ToString());
        Assert.Contains("Kafka commit log could not be opened", tail.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, status.ToString() + tail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adopt_moves_the_databases_from_the_embedded_log_to_a_kafka_log()
    {
        await using var db = await CliDatabases.CreateAsync();
        await using var cluster = await KafkaMockCluster.StartAsync();
        var log = await cluster.CreateLogAsync();
        var kafka = db.KafkaConnectionString(log);
        await db.CommitTransferAsync(amount: 5); // the embedded log governs the databases

        var status = await CliRun.RunAsync(kafka, "status");
        Assert.True(status.ExitCode == 2, status.ToString());
        Assert.Contains($"BELONGS TO ANOTHER COMMIT LOG: embedded log {db.LogPath} (log id ", status.Stdout, StringComparison.Ordinal);

        var adopt = await CliRun.RunAsync(kafka, "log", "adopt", "--from", db.LogPath);
        Assert.True(adopt.ExitCode == 0, adopt.ToString());
        Assert.Contains($"Databases now governed by Kafka log {log} (cluster ", adopt.Stdout, StringComparison.Ordinal);

        await db.CommitTransferAsync(amount: 10, kafka);
        Assert.Equal(85L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        var after = await CliRun.RunAsync(kafka, "status");
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    /// <summary>Commits a transfer through Khonsu and waits (polling the table, with a deadline) until its rows are materialised.</summary>
    private static Task<string> CommitAndMaterialiseAsync(CliDatabases db, string connectionString, int amount)
        => db.CommitTransferAsync(amount, connectionString, transactionId => Poll.UntilAsync(
            async () => Equals(await db.PostgresScalarAsync($"SELECT count(*) FROM khonsu.transaction_log WHERE tx_id = '{transactionId}' AND status = 'COMMITTED'"), 2L),
            TimeSpan.FromSeconds(30),
            "the transfer's rows in khonsu.transaction_log"));
}
