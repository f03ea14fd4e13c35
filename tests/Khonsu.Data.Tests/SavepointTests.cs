using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

public class SavepointTests
{
    [Fact]
    public async Task Rolling_back_to_a_savepoint_undoes_later_work_on_every_backend()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        Assert.True(transaction.SupportsSavepoints);

        await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 1");
        await transaction.SaveAsync("before_order");
        await Execute(connection, "UPDATE accounts SET balance = 2 WHERE id = 2"); // SQLite, touched before the savepoint
        await Execute(connection, "INSERT INTO orders VALUES (110, 1, 1)"); // PostgreSQL, first touched after it
        await transaction.RollbackAsync("before_order");
        await Execute(connection, "INSERT INTO orders VALUES (111, 1, 1)");
        await transaction.CommitAsync();

        Assert.Equal(1L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(50L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 110"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 111"));
    }

    [Fact]
    public async Task A_released_savepoint_keeps_its_work_and_is_gone()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Execute(connection, "INSERT INTO orders VALUES (112, 1, 1)");
        await transaction.SaveAsync("s");
        await Execute(connection, "UPDATE orders SET amount = 2 WHERE id = 112");
        await transaction.ReleaseAsync("s");

        await Assert.ThrowsAsync<InvalidOperationException>(() => transaction.RollbackAsync("s"));
        await transaction.CommitAsync();
        Assert.Equal(2, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 112"));
    }
}
