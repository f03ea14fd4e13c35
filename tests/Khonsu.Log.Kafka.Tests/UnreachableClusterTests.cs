using Khonsu.Data;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// docs/kafka-log.md, "When the cluster is unreachable for longer than the timeouts", row by row:
/// with the only broker down past the operation timeout (2 s here), which calls fail with which
/// SqlState, which still work, and what recovery does once the cluster answers again.
/// </summary>
public sealed class UnreachableClusterTests
{
    [Fact]
    public async Task Past_the_timeouts_each_call_fails_as_documented_and_recovery_finishes_the_rest_when_the_cluster_is_back()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using (var running = await db.OpenAsync())
        {
            await EndToEndTests.TransferAsync(running, 1000);
            await db.Cluster.DownAsync();

            // First open of a connection string: the runtime cannot open the log.
            var open = await Assert.ThrowsAsync<KhonsuException>(() => new KhonsuConnection(db.ConnectionString(";LockTimeout=7")).OpenAsync());
            Assert.Equal(("08001", true), (open.SqlState, open.IsTransient));
            Assert.Contains("the Kafka commit log could not be opened", open.Message, StringComparison.Ordinal);

            // Statements inside a transaction run as usual; its commit cannot append its record, nor
            // the abort record after it: outcome unknown, and its participants stay prepared.
            await using (var transaction = await running.BeginTransactionAsync())
            {
                await EndToEndTests.ExecuteAsync(running, "UPDATE accounts SET balance = balance - 1 WHERE id = 2");
                await EndToEndTests.ExecuteAsync(running, "INSERT INTO orders (id, account_id, amount) VALUES (1001, 2, 1)");
                var commit = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());
                Assert.Equal(("08007", false), (commit.SqlState, commit.IsTransient));
            }

            Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));

            // A transaction that wrote and read nothing appends nothing: it commits.
            await using (var empty = await running.BeginTransactionAsync())
            {
                await empty.CommitAsync();
            }

            // Recovery cannot read the log: it fails, transiently, and decides nothing.
            var recover = await Assert.ThrowsAsync<KhonsuException>(() => running.RecoverAsync());
            Assert.Equal(("08006", true), (recover.SqlState, recover.IsTransient));
            Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));

            // The cluster answers again: the same runtime reconnects by itself (no restart).
            await db.Cluster.UpAsync();
            await EndToEndTests.TransferAsync(running, 1002);
        }

        // The next recovery reads the unknown transaction's first decision from the log and finishes
        // it on every backend (here the commit record, never acknowledged, may or may not be in the
        // log: either way both backends end alike), and nothing is left prepared.
        await using var survivor = await db.OpenAsync(";PrepareLease=0.001");
        await survivor.RecoverAsync();
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        var orders = (await db.OrdersAsync()).Select(o => o.Id).ToList();
        Assert.Contains(1000, orders);
        Assert.Contains(1002, orders);
        await db.AssertBalancesMatchOrdersAsync();
    }
}
