using Khonsu.Mirror.Changes;
using Khonsu.Testing;

namespace Khonsu.Mirror.Tests;

/// <summary>The same stream and mirror over a Kafka log: one code path through the commit-log contract.</summary>
public sealed class KafkaMirrorTests
{
    [Fact]
    public async Task A_mirror_fed_from_a_kafka_log_equals_the_sources_with_every_transaction_applied_once()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using var cluster = await KafkaMockCluster.StartAsync();
        var log = await cluster.CreateLogAsync();
        // The later Log key wins over the embedded log's: a setting given twice keeps its last value.
        var connectionString = databases.ConnectionString($";Log={log};Kafka.message.timeout.ms=5000;Follow.ledger=accounts;Follow.shop=wallets");
        await using (var connection = await databases.OpenAsync(connectionString))
        {
            await MirrorDatabases.ExecuteAsync(connection, null, "UPDATE accounts SET owner = owner");
            await MirrorDatabases.ExecuteAsync(connection, null, "UPDATE wallets SET owner = owner");
            var random = new Random(3);
            for (var i = 0; i < 20; i++)
            {
                await MirrorDatabases.TransferAsync(connection, random.Next(1, 3), random.Next(1, 3), random.Next(-20, 21));
            }
        }

        await using var applier = await MirrorApplier.OpenAsync(connectionString, databases.MirrorPath, new MirrorApplierOptions { TransactionsPerGroup = 3 });
        await applier.CatchUpAsync();

        var mirrored = await MirrorQueries.BalancesAsync(applier.Mirror.Connection);
        Assert.Equal(await databases.SourceBalancesAsync(), mirrored.Balances);
        Assert.Equal(22L, Convert.ToInt64(await MirrorQueries.ScalarAsync(applier.Mirror.Connection, "SELECT count(DISTINCT tx_id) FROM khonsu_mirror.transactions")));
        Assert.Equal(0, applier.Lag.Positions);

        await using var stream = await KhonsuChangeStream.OpenAsync(connectionString);
        Assert.Equal(log, stream.LogDescription);
    }
}
