using DuckDB.NET.Data;
using Khonsu.Data;
using Khonsu.Mirror.DuckDb;

namespace Khonsu.Mirror.Tests;

/// <summary>The DuckDB mirror applied alongside concurrent cross-backend transactions: one cut at every moment, the sources' state at the end.</summary>
public sealed class MirrorApplierTests
{
    [Fact]
    public async Task Every_query_on_the_mirror_sees_one_cut_while_transfers_run_and_the_sources_once_they_stop()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using (var seed = await databases.OpenAsync())
        {
            // The starting balances enter the log too, so that the mirror holds every row.
            await MirrorDatabases.ExecuteAsync(seed, null, "UPDATE accounts SET owner = owner");
            await MirrorDatabases.ExecuteAsync(seed, null, "UPDATE wallets SET owner = owner");
        }

        await using var applier = await MirrorApplier.OpenAsync(databases.Followed, databases.MirrorPath, new MirrorApplierOptions { TransactionsPerGroup = 7, PollInterval = TimeSpan.FromMilliseconds(20) });
        using var stop = new CancellationTokenSource();
        var applying = Task.Run(async () =>
        {
            try
            {
                await applier.RunAsync(stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });

        var writers = Enumerable.Range(0, 4).Select(seed => Task.Run(() => TransferRandomlyAsync(databases, seed, transfers: 40))).ToList();
        await using var query = new DuckDBConnection($"Data Source={databases.MirrorPath}");
        await query.OpenAsync();
        var looks = 0;
        string? fractured = null; // asserted once the writers stopped, so that a failure leaves no writer behind
        var random = new Random(17);
        while (!writers.All(w => w.IsCompleted))
        {
            // A random moment: one snapshot of the mirror, its balances and its position together.
            await Task.Delay(random.Next(1, 30));
            if (await MirrorQueries.TryBalancesAsync(query) is { } seen)
            {
                looks++;
                if (seen.Balances.Values.Sum() != MirrorDatabases.Total)
                {
                    fractured ??= $"At position {seen.Position} the mirror's total is {seen.Balances.Values.Sum()}, not {MirrorDatabases.Total}: a fractured cut.";
                }
            }
        }

        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await applying;
        var end = await applier.CatchUpAsync(CancellationToken.None); // the writers stopped: the rest of the log
        Assert.Null(fractured);

        var mirrored = await MirrorQueries.BalancesAsync(query);
        Assert.Equal(await databases.SourceBalancesAsync(), mirrored.Balances);
        Assert.True(looks > 0, "the mirror was never queried while the writers ran");
        var applied = Convert.ToInt64(await MirrorQueries.ScalarAsync(query, "SELECT count(*) FROM khonsu_mirror.transactions"));
        Assert.Equal(2 + 4 * 40, applied);
        Assert.True(end.ThroughPosition >= mirrored.Position);
    }

    [Fact]
    public async Task A_source_column_added_later_is_followed_and_a_changed_type_is_reported_with_its_table_and_column()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.ExecuteAsync(connection, null, "UPDATE wallets SET balance = balance + 1 WHERE id = 1");
        }

        await using (var applier = await MirrorApplier.OpenAsync(databases.Followed, databases.MirrorPath))
        {
            await applier.CatchUpAsync();
        }

        await databases.ClearPoolsAsync();
        await databases.PostgresAsync("ALTER TABLE wallets ADD COLUMN note text");
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.ExecuteAsync(connection, null, "UPDATE wallets SET note = 'vip' WHERE id = 2");
        }

        await using (var applier = await MirrorApplier.OpenAsync(databases.Followed, databases.MirrorPath))
        {
            await applier.CatchUpAsync();
            Assert.Equal("vip", await MirrorQueries.ScalarAsync(applier.Mirror.Connection, "SELECT note FROM shop.wallets WHERE id = 2"));
        }

        await databases.ClearPoolsAsync();
        await databases.PostgresAsync("ALTER TABLE wallets ALTER COLUMN note TYPE bigint USING 7");
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.ExecuteAsync(connection, null, "UPDATE wallets SET note = 8 WHERE id = 2");
        }

        await using (var applier = await MirrorApplier.OpenAsync(databases.Followed, databases.MirrorPath))
        {
            var before = applier.Mirror.Position;
            var error = await Assert.ThrowsAsync<MirrorSchemaException>(() => applier.CatchUpAsync());
            Assert.Contains("Table 'wallets' of backend 'shop': column 'note' is BIGINT at the source now, and VARCHAR in the mirror", error.Message);
            Assert.Equal(before, applier.Mirror.Position);
        }
    }

    private static async Task TransferRandomlyAsync(MirrorDatabases databases, int seed, int transfers)
    {
        var random = new Random(seed);
        await using var connection = await databases.OpenAsync();
        for (var done = 0; done < transfers;)
        {
            try
            {
                await MirrorDatabases.TransferAsync(connection, random.Next(1, 3), random.Next(1, 3), random.Next(-20, 21));
                done++;
            }
            catch (KhonsuException error) when (error.IsTransient)
            {
                // A serialization failure: the transfer did not happen; another one follows.
            }
        }
    }
}
