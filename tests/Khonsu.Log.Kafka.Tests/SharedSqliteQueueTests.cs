using Khonsu.Data;
using Khonsu.Data.Sqlite;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// Two runtimes of one process on one Kafka log (two connection strings, as two processes would
/// be) that name the same SQLite file queue for its write lock on one in-process queue. With the
/// embedded log this cannot happen: the file belongs to one log, and the log to one runtime.
/// </summary>
public sealed class SharedSqliteQueueTests
{
    [Fact]
    public async Task Two_runtimes_on_one_kafka_log_naming_the_same_sqlite_file_share_its_queue()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        var queue = SqliteWriteQueue.For($"Data Source={db.SqlitePath}");
        await using var holder = await db.OpenAsync();
        await using var other = await db.OpenAsync(";LockTimeout=5");
        Assert.NotSame(holder.Runtime, other.Runtime);

        var holding = await holder.BeginTransactionAsync();
        await ExecuteAsync(holder, holding, "UPDATE accounts SET balance = balance - 1 WHERE id = 1");
        var waiter = UpdateAndCommitAsync(other, 2);

        // With a queue of its own the waiter would poll SQLite's lock, never wait here.
        await Poll.UntilAsync(() => Task.FromResult(queue.Waiting == 1), TimeSpan.FromSeconds(10), "the other runtime's transaction queued on the same permit");
        await holding.CommitAsync();
        await waiter;
        Assert.Equal(KafkaDatabases.StartBalance - 1, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(KafkaDatabases.StartBalance - 1, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
    }

    private static async Task UpdateAndCommitAsync(KhonsuConnection connection, int account)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, transaction, $"UPDATE accounts SET balance = balance - 1 WHERE id = {account}");
        await transaction.CommitAsync();
    }

    private static async Task ExecuteAsync(KhonsuConnection connection, KhonsuTransaction transaction, string sql)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = 30;
        await command.ExecuteNonQueryAsync();
    }
}
