using System.Data;
using Npgsql;

namespace Khonsu.Data.Tests;

public class AtomicCommitTests
{
    [Fact]
    public async Task Commit_makes_writes_on_both_backends_durable_and_logs_them()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
        await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 10)");
        await transaction.CommitAsync();

        Assert.Equal(90L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(10, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], await db.TransactionLogAsync(transaction.TransactionId));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task Rollback_undoes_writes_on_both_backends()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "UPDATE accounts SET balance = 0 WHERE id = 1");
            await Execute(connection, "DELETE FROM orders WHERE id = 100");
            await transaction.RollbackAsync();
        }

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Disposing_an_uncommitted_transaction_rolls_it_back()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await using (await connection.BeginTransactionAsync())
        {
            await Execute(connection, "UPDATE accounts SET balance = 0 WHERE id = 1");
            await Execute(connection, "UPDATE orders SET amount = 0 WHERE id = 100");
        }

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Reads_see_the_transactions_own_writes_on_each_backend()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Execute(connection, "UPDATE accounts SET balance = 7 WHERE id = 1");
        await Execute(connection, "UPDATE orders SET amount = 8 WHERE id = 100");

        Assert.Equal(7L, await Scalar(connection, "SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(8, await Scalar(connection, "SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Without_a_transaction_each_statement_commits_at_once()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 2");
        await Execute(connection, "INSERT INTO orders VALUES (102, 2, 3)");

        Assert.Equal(1L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
        Assert.Equal(3, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 102"));
    }

    [Fact]
    public async Task A_read_only_transaction_writes_nothing_to_the_log()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Scalar(connection, "SELECT balance FROM accounts WHERE id = 1");
        await Scalar(connection, "SELECT amount FROM orders WHERE id = 100");
        await transaction.CommitAsync();

        Assert.Empty(await db.TransactionLogAsync(transaction.TransactionId));
    }

    [Fact]
    public async Task Versions_are_bumped_by_the_database_for_every_writer()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await (await db.OpenAsync()).DisposeAsync(); // installs the schema

        await db.SqliteAsync("UPDATE accounts SET balance = 3 WHERE id = 1");
        await db.PostgresAsync("UPDATE orders SET amount = 3 WHERE id = 100; UPDATE orders SET amount = 4 WHERE id = 100");

        Assert.Equal(2L, await db.SqliteScalarAsync("SELECT version FROM accounts WHERE id = 1"));
        Assert.Equal(1L, await db.SqliteScalarAsync("SELECT version FROM accounts WHERE id = 2"));
        Assert.Equal(3L, await db.PostgresScalarAsync("SELECT version FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task A_postgres_write_conflict_is_a_serialization_failure_carrying_the_databases_own_error()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var other = await db.OpenAsync();

        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, "UPDATE accounts SET balance = 0 WHERE id = 1");
        await Scalar(connection, "SELECT amount FROM orders WHERE id = 100"); // takes the PostgreSQL snapshot
        await Execute(other, "UPDATE orders SET amount = 6 WHERE id = 100"); // commits after the snapshot

        var conflict = await Assert.ThrowsAsync<KhonsuException>(() => Execute(connection, "UPDATE orders SET amount = 7 WHERE id = 100"));
        Assert.Equal("40001", conflict.SqlState);
        Assert.True(conflict.IsTransient);
        Assert.Equal(transaction.TransactionId, conflict.TransactionId);
        Assert.Contains("'shop'", conflict.Message, StringComparison.Ordinal);
        Assert.Equal("40001", Assert.IsType<PostgresException>(conflict.InnerException).SqlState);
        await transaction.RollbackAsync();

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(6, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task A_sqlite_write_after_a_stale_read_fails_at_once_as_a_serialization_failure()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var other = await db.OpenAsync();

        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, "INSERT INTO orders VALUES (103, 1, 1)");
        await Scalar(connection, "SELECT balance FROM accounts WHERE id = 1"); // takes the SQLite snapshot
        await Execute(other, "UPDATE accounts SET balance = 60 WHERE id = 2");

        var conflict = await Assert.ThrowsAsync<KhonsuException>(() => Execute(connection, "UPDATE accounts SET balance = 0 WHERE id = 1"));
        Assert.Equal("40001", conflict.SqlState);
        Assert.True(conflict.IsTransient);
        Assert.Equal(transaction.TransactionId, conflict.TransactionId);
        Assert.IsType<Microsoft.Data.Sqlite.SqliteException>(conflict.InnerException);
        await transaction.RollbackAsync();

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 103"));
    }

    [Fact]
    public async Task Transaction_log_records_an_abort_with_its_reason_when_prepare_fails()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, "UPDATE accounts SET balance = 0 WHERE id = 1");
        await Execute(connection, "UPDATE orders SET amount = 0 WHERE id = 100");

        // Someone settles a prepared transaction under the same gid first: PREPARE then fails on PostgreSQL.
        var gid = $"khonsu:{connection.Runtime.Log.Identity.Tag}:{transaction.TransactionId}";
        await db.PostgresAsync($"BEGIN; PREPARE TRANSACTION '{gid}'");
        await Assert.ThrowsAsync<PostgresException>(() => transaction.CommitAsync());
        await db.PostgresAsync($"ROLLBACK PREPARED '{gid}'");

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.All(await db.TransactionLogAsync(transaction.TransactionId), row => Assert.EndsWith(":ABORTED:ABORT", row, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancellation_stops_a_running_statement()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        using var cancellation = new CancellationTokenSource();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT pg_sleep(60) FROM orders";

        var running = command.ExecuteNonQueryAsync(cancellation.Token);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task Isolation_levels_map_or_fail_clearly()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await using (var snapshot = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted))
        {
            Assert.Equal(IsolationLevel.Snapshot, snapshot.IsolationLevel);
        }

        var error = Assert.Throws<KhonsuException>(() => connection.BeginTransaction(IsolationLevel.Chaos));
        Assert.Contains("Chaos", error.Message, StringComparison.Ordinal);
    }

    internal static async Task<int> Execute(KhonsuConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }

    internal static async Task<object?> Scalar(KhonsuConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
