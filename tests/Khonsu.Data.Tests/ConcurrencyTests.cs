using System.Data.Common;
using Dapper;

namespace Khonsu.Data.Tests;

public class ConcurrencyTests
{
    [Fact]
    public async Task Concurrent_cross_backend_transfers_never_create_or_lose_money()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE TABLE savings (id integer PRIMARY KEY, balance integer NOT NULL); INSERT INTO savings SELECT g, 100 FROM generate_series(1, 4) g");
        await db.SqliteAsync("INSERT INTO accounts VALUES (3, 'cy', 100), (4, 'di', 100)");
        var before = await TotalAsync(db);

        var workers = Enumerable.Range(0, 6).Select(worker => TransferAsync(db, worker, transfers: 20));
        var committed = (await Task.WhenAll(workers)).Sum();

        Assert.True(committed > 0);
        Assert.Equal(before, await TotalAsync(db));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task Operation_in_transaction_log_holds_statements_but_not_parameter_values()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("UPDATE accounts SET owner = @owner WHERE id = 1", new { owner = "secret-owner-name" }, transaction);
        await connection.ExecuteAsync("UPDATE orders SET amount = @amount WHERE id = 100", new { amount = 6 }, transaction); // two backends: logged
        await transaction.CommitAsync();

        await using var log = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db.LogPath};Mode=ReadOnly");
        var operation = await log.QueryFirstAsync<string>("SELECT operation FROM transaction_log WHERE tx_id = @id", new { id = transaction.TransactionId }); // one row per participant

        Assert.Contains("UPDATE accounts SET owner = @owner", operation, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-owner-name", operation, StringComparison.Ordinal);
    }

    private static async Task<int> TransferAsync(TwoDatabases db, int worker, int transfers)
    {
        var random = new Random(worker);
        var committed = 0;
        await using var connection = await db.OpenAsync();
        for (var i = 0; i < transfers; i++)
        {
            var (from, to) = random.Next(2) == 0 ? ("accounts", "savings") : ("savings", "accounts");
            var (debit, credit, amount) = (random.Next(1, 5), random.Next(1, 5), random.Next(1, 30));
            for (var attempt = 0; attempt < 50; attempt++)
            {
                try
                {
                    await using var transaction = await connection.BeginTransactionAsync();
                    if (await connection.ExecuteAsync($"UPDATE {from} SET balance = balance - @amount WHERE id = @debit AND balance >= @amount", new { amount, debit }, transaction) == 1)
                    {
                        await connection.ExecuteAsync($"UPDATE {to} SET balance = balance + @amount WHERE id = @credit", new { amount, credit }, transaction);
                    }

                    await transaction.CommitAsync();
                    committed++;
                    break;
                }
                catch (DbException error) when (error.IsTransient)
                {
                    // A conflict or a bounded lock wait: the whole transaction rolled back, retry it.
                }
            }
        }

        return committed;
    }

    private static async Task<long> TotalAsync(TwoDatabases db)
        => (long)(await db.SqliteScalarAsync("SELECT sum(balance) FROM accounts"))! + (long)(await db.PostgresScalarAsync("SELECT sum(balance) FROM savings"))!;
}
