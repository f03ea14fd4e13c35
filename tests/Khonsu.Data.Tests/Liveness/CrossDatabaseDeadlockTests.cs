using Khonsu.TestSupport;

namespace Khonsu.Data.Tests.Liveness;

/// <summary>
/// A deadlock across databases that no database can see: one transaction holds the SQLite file's
/// write lock and waits for a PostgreSQL row lock, which the other holds while it queues for the
/// SQLite lock. Whichever of the two began first wins it; the younger one fails with a transient
/// serialization failure (its retry keeps its age, so it wins eventually).
/// </summary>
public class CrossDatabaseDeadlockTests
{
    private const string LockTimeout = ";LockTimeout=1";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_older_transaction_wins_a_deadlock_through_a_postgres_row_lock_and_a_sqlite_write_lock(bool olderHoldsSqlite)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var olderConnection = await db.OpenAsync(LockTimeout);
        await using var youngerConnection = await db.OpenAsync(LockTimeout);
        await using var older = await olderConnection.BeginTransactionAsync();
        await using var younger = await youngerConnection.BeginTransactionAsync();
        var (sqliteFirst, postgresFirst) = olderHoldsSqlite ? ((olderConnection, older), (youngerConnection, younger)) : ((youngerConnection, younger), (olderConnection, older));

        await Execute(postgresFirst, "UPDATE orders SET amount = amount + 1 WHERE id = 100");
        await Execute(sqliteFirst, "UPDATE accounts SET balance = balance - 1 WHERE id = 1");

        // The SQLite holder now waits for the PostgreSQL row, the PostgreSQL holder for SQLite's lock.
        var sqliteHolderWaits = Execute(sqliteFirst, "UPDATE orders SET amount = amount + 1 WHERE id = 100");
        await db.UntilWaitingForLocksAsync(1, "the SQLite holder blocked on the PostgreSQL row");
        var postgresHolderWaits = Execute(postgresFirst, "UPDATE accounts SET balance = balance - 1 WHERE id = 2");

        var (loser, winnerWaits, winner) = olderHoldsSqlite
            ? (postgresHolderWaits, sqliteHolderWaits, sqliteFirst)
            : (sqliteHolderWaits, postgresHolderWaits, postgresFirst);
        var error = await Assert.ThrowsAsync<KhonsuException>(() => loser);
        Assert.Equal("40001", error.SqlState);
        Assert.True(error.IsTransient);
        Assert.Contains(younger.TransactionId, error.Message, StringComparison.Ordinal);

        await younger.RollbackAsync();
        Assert.Equal(1, await winnerWaits);
        await winner.Item2.CommitAsync();
        Assert.Equal(6, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100")); // 5, plus the older one's
        Assert.Equal(149L, Convert.ToInt64(await db.SqliteScalarAsync("SELECT sum(balance) FROM accounts")));
        Assert.Equal(olderHoldsSqlite ? 99L : 100L, Convert.ToInt64(await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1")));
    }

    private static async Task<int> Execute((KhonsuConnection Connection, KhonsuTransaction Transaction) session, string sql)
    {
        await using var command = session.Connection.CreateCommand();
        command.Transaction = session.Transaction;
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }
}
