using Khonsu.Engine.Coordination;
using Khonsu.TestSupport;

namespace Khonsu.Data.Tests.Liveness;

/// <summary>
/// A transaction that committed but could not finish on a backend waits for recovery (in doubt).
/// Until then it must not stop the process: every other transaction goes on, and only those that
/// touch what it wrote where it is in doubt are refused.
/// </summary>
public class InDoubtTransactionTests
{
    [Fact]
    public async Task A_thousand_transactions_commit_after_one_left_in_doubt_and_only_its_rows_wait_for_recovery()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (200, 2, 0)");
        await using var stuckConnection = await db.OpenAsync();
        var stuckId = await CommitLeavingTheShopInDoubtAsync(db, stuckConnection);
        Assert.Contains($"shop:IN_DOUBT:COMMIT", await db.TransactionLogAsync(stuckId));

        // The same hot row, a thousand times: each commit comes after the one in doubt, and with a
        // watermark stuck behind it every one of them would be concurrent with the last (40001).
        await using var connection = await db.OpenAsync();
        for (var i = 0; i < 1_000; i++)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            Assert.Equal(1, await Execute(connection, transaction, "UPDATE orders SET amount = amount + 1 WHERE id = 200"));
            await transaction.CommitAsync();
        }

        Assert.Equal(1_000, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 200"));

        // Its row on the backend where it is in doubt still holds the version before its commit:
        // reading it is refused until recovery finishes it there.
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => ReadOrderAndWriteAccountAsync(connection));
        Assert.Equal("40001", refused.SqlState);
        Assert.Contains("in doubt on backend 'shop'", refused.Message, StringComparison.Ordinal);
        Assert.Contains(stuckId, refused.Message, StringComparison.Ordinal);

        await stuckConnection.RecoverAsync();
        Assert.Contains("shop:COMMITTED:COMMIT", await db.TransactionLogAsync(stuckId));
        Assert.Equal(42, await ReadOrderAndWriteAccountAsync(connection));
    }

    /// <summary>
    /// Commits a transaction on both backends whose PostgreSQL session dies right after the decision
    /// is logged: SQLite commits, COMMIT PREPARED fails, and the shop participant is left in doubt.
    /// </summary>
    private static async Task<string> CommitLeavingTheShopInDoubtAsync(TwoDatabases db, KhonsuConnection connection)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        Assert.Equal(1, await Execute(connection, transaction, "UPDATE accounts SET balance = 10 WHERE id = 1"));
        Assert.Equal(1, await Execute(connection, transaction, "UPDATE orders SET amount = 42 WHERE id = 100"));
        connection.Runtime.Coordinator.StepObserver = async (step, _) =>
        {
            if (step == CommitStep.AfterDecisionLogged)
            {
                await db.PostgresAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
            }
        };

        await transaction.CommitAsync(); // committed: the participant left behind is recovery's
        connection.Runtime.Coordinator.StepObserver = null;
        return transaction.TransactionId;
    }

    private static async Task<int> ReadOrderAndWriteAccountAsync(KhonsuConnection connection)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT amount FROM orders WHERE id = 100";
        var amount = Convert.ToInt32(await read.ExecuteScalarAsync());
        await Execute(connection, transaction, "UPDATE accounts SET balance = balance + 1 WHERE id = 2");
        await transaction.CommitAsync();
        return amount;
    }

    private static async Task<int> Execute(KhonsuConnection connection, KhonsuTransaction transaction, string sql)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }
}
