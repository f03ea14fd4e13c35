using System.Data.Common;
using Khonsu.Data;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>KhonsuConnection with Log=kafka://...: cross-backend commits, faults, configuration errors.</summary>
public sealed class EndToEndTests
{
    [Fact]
    public async Task Cross_backend_transactions_commit_through_the_kafka_log()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        Assert.IsType<KafkaCommitLog>(connection.Runtime.Log);
        for (var i = 0; i < 5; i++)
        {
            await TransferAsync(connection, 1000 + i);
        }

        Assert.Equal(5, (await db.OrdersAsync()).Count);
        await db.AssertBalancesMatchOrdersAsync();
        var records = new List<LoggedRecord>();
        await foreach (var record in connection.Runtime.Log.ReadFromAsync(LogPosition.Start))
        {
            records.Add(record);
        }

        Assert.Equal(5, records.Count(r => r.Record.Kind == LogRecordKind.Commit));
        Assert.Equal(5, records.Count(r => r.Record.Kind == LogRecordKind.End));
    }

    [Fact]
    public async Task With_the_broker_down_commits_fail_cleanly_and_after_it_is_back_nothing_is_half_done()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        var unknown = new List<int>();
        await using (var connection = await db.OpenAsync())
        {
            await TransferAsync(connection, 1000);
            await db.Cluster.DownAsync();
            for (var i = 1; i <= 2; i++)
            {
                var started = System.Diagnostics.Stopwatch.StartNew();
                var error = await Assert.ThrowsAsync<KhonsuException>(() => TransferAsync(connection, 1000 + i));
                Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"a commit waited {started.Elapsed} on a dead broker");
                Assert.Contains(error.SqlState, new[] { "08006", "08007" }); // log unavailable (rolled back) or outcome unknown (recovery decides)
                if (error.SqlState == "08007")
                {
                    unknown.Add(1000 + i);
                }
            }

            await db.Cluster.UpAsync();
            await TransferAsync(connection, 1003); // reconnected by itself (account 2: only order 1000, committed, wrote it)

            // The account of a transfer whose outcome the dead broker left unknown is held until
            // recovery says what became of it: overwriting it would make its redo fail.
            foreach (var order in unknown)
            {
                var held = await Assert.ThrowsAsync<KhonsuException>(() => TransferAsync(connection, order + 3 * 10));
                Assert.Equal("40001", held.SqlState);
                Assert.Contains("in doubt", held.Message, StringComparison.Ordinal);
            }
        }

        await using var survivor = await db.OpenAsync(";PrepareLease=0.001");
        await survivor.RecoverAsync();
        foreach (var order in unknown)
        {
            await TransferAsync(survivor, order + 3 * 10);
        }

        var orders = (await db.OrdersAsync()).Select(o => o.Id).ToList();
        Assert.Contains(1000, orders);
        Assert.Contains(1003, orders);
        await db.AssertBalancesMatchOrdersAsync();
    }

    [Fact]
    public async Task Added_latency_slows_commits_but_they_still_finish()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await db.Cluster.SetRttAsync(150);
        var started = System.Diagnostics.Stopwatch.StartNew();
        await TransferAsync(connection, 1000);
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(150), $"commit took {started.Elapsed}");
        await db.AssertBalancesMatchOrdersAsync();
        Assert.Single(await db.OrdersAsync());
    }

    [Fact]
    public async Task Kafka_settings_need_a_kafka_log_and_secrets_stay_out_of_errors()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        var noLog = $"Khonsu:Sqlite.ledger=\"Data Source={db.SqlitePath}\";Kafka.security.protocol=plaintext";
        var error = Assert.Throws<ArgumentException>(() => new KhonsuConnection(noLog)); // refused when given, as Npgsql does
        Assert.Contains("Log=kafka://", error.Message, StringComparison.Ordinal);

        // A broker that does not answer SASL: the open fails, transiently, without the password.
        const string secret = "Hunter2-very-secret";
        var sasl = $"Khonsu:Sqlite.ledger=\"Data Source={db.SqlitePath}\";Log=kafka://127.0.0.1:1/t;Kafka.message.timeout.ms=1000;Kafka.security.protocol=sasl_plaintext;Kafka.sasl.mechanism=PLAIN;Kafka.sasl.username=u;Kafka.sasl.password={secret}";
        var unreachable = await Assert.ThrowsAsync<KhonsuException>(() => new KhonsuConnection(sasl).OpenAsync());
        Assert.True(unreachable.IsTransient);
        Assert.DoesNotContain(secret, unreachable.ToString(), StringComparison.Ordinal);

        var fixedSetting = $"Khonsu:Sqlite.ledger=\"Data Source={db.SqlitePath}\";Log={db.Log};Kafka.acks=1";
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => new KhonsuConnection(fixedSetting).OpenAsync());
        Assert.Contains("acks", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>One cross-backend transfer (account -1 on SQLite, an order row on PostgreSQL); returns its id.</summary>
    internal static async Task<string> TransferAsync(KhonsuConnection connection, int order)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        var account = (order % KafkaDatabases.Accounts) + 1;
        await ExecuteAsync(connection, $"UPDATE accounts SET balance = balance - 1 WHERE id = {account}");
        await ExecuteAsync(connection, $"INSERT INTO orders (id, account_id, amount) VALUES ({order}, {account}, 1)");
        await transaction.CommitAsync();
        return transaction.TransactionId;
    }

    internal static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
