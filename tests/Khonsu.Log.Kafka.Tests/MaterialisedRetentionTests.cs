using Khonsu.Engine.Coordination;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// TransactionLogRetention on the transaction_log a Kafka log is materialised into (PostgreSQL):
/// finished transactions' rows go once past it (a commit, and an abort whose coordinator rolled every
/// participant back itself), and the rows of a transaction the log still has unfinished stay, whatever
/// their age: a commit whose participants are still prepared.
/// </summary>
public sealed class MaterialisedRetentionTests
{
    private const string Extra = ";TransactionLog=shop;TransactionLogRetention=1h";

    [Fact]
    public async Task Rows_past_the_retention_go_and_those_of_unfinished_transactions_stay()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await db.InstallAsync(Extra);
        await using var connection = await db.OpenAsync(Extra);
        var shop = db.Postgres.ConnectionString;
        var finished = await EndToEndTests.TransferAsync(connection, 1000);
        var refused = await TransactionLogTests.LoseWriteSkewAsync(db, Extra); // aborted and rolled back by its coordinator

        string prepared;
        using (var child = ChildProcess.Start("crash", db.ConnectionString(Extra), CommitStep.AfterDecisionLogged, 1, 25))
        {
            prepared = (await child.ReadUntilAsync("AT ", TransactionLogTable.Patience))[^1].Split(' ')[2];
            await TransactionLogTable.WaitForPostgresAsync(shop, prepared, "ledger:PREPARED", "shop:PREPARED");
            await child.KillAsync();
        }

        await TransactionLogTable.WaitForPostgresAsync(shop, finished, "ledger:COMMITTED", "shop:COMMITTED");
        await TransactionLogTable.WaitForPostgresAsync(shop, refused, "ledger:ABORTED", "shop:ABORTED");
        var committedByWriteSkew = (await TransactionLogTable.PostgresRowsAsync(shop)).Select(r => r.Split(TransactionLogTable.Separator)[0]).Distinct()
            .Single(id => id != finished && id != refused && id != prepared);

        var finishedRows = (await TransactionLogTable.PostgresRowsAsync(shop, finished)).Count + (await TransactionLogTable.PostgresRowsAsync(shop, committedByWriteSkew)).Count
            + (await TransactionLogTable.PostgresRowsAsync(shop, refused)).Count;

        // Two hours later.
        var truncation = connection.Runtime.Truncation;
        truncation.Time = new ShiftedTime(TimeSpan.FromHours(2));
        var report = await truncation.RunOnceAsync(CancellationToken.None);

        Assert.Equal(finishedRows, report.TransactionLogRows);
        Assert.True(finishedRows >= 5, $"{finishedRows} rows");
        Assert.Empty(await TransactionLogTable.PostgresRowsAsync(shop, finished));
        Assert.Empty(await TransactionLogTable.PostgresRowsAsync(shop, committedByWriteSkew));
        Assert.Empty(await TransactionLogTable.PostgresRowsAsync(shop, refused));
        Assert.Equal(2, (await TransactionLogTable.PostgresRowsAsync(shop, prepared)).Count);

        // Once recovery has finished it, its rows go too.
        await connection.RecoverAsync();
        await TransactionLogTable.WaitForPostgresAsync(shop, prepared, "ledger:COMMITTED", "shop:COMMITTED");
        await TransactionLogTable.WaitCaughtUpAsync(connection);
        Assert.Equal(2, (await truncation.RunOnceAsync(CancellationToken.None)).TransactionLogRows);
        Assert.Empty(await TransactionLogTable.PostgresRowsAsync(shop));
    }
}
