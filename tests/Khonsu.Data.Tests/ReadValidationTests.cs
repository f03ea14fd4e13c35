using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

/// <summary>
/// A writing transaction must not commit on reads that changed underneath it, even when the
/// change came from a writer outside Khonsu (Khonsu cannot know what that writer read).
/// </summary>
public class ReadValidationTests
{
    [Fact]
    public async Task A_postgres_row_read_then_changed_by_an_outside_writer_aborts_the_whole_transaction()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Scalar(connection, "SELECT * FROM orders WHERE id = 100"); // the row, with its key and version
        await Execute(connection, "UPDATE accounts SET balance = 0 WHERE id = 1");
        await db.PostgresAsync("UPDATE orders SET amount = 99 WHERE id = 100"); // not through Khonsu

        var conflict = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());

        Assert.Equal("40001", conflict.SqlState);
        Assert.True(conflict.IsTransient);
        Assert.Contains("orders", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task A_change_to_a_row_the_transaction_did_not_read_does_not_abort_it()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Scalar(connection, "SELECT * FROM orders WHERE id = 100");
        await Execute(connection, "UPDATE accounts SET balance = 0 WHERE id = 1");
        await db.PostgresAsync("UPDATE orders SET amount = 99 WHERE id = 101");
        await transaction.CommitAsync();

        Assert.Equal(0L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task A_postgres_participant_that_wrote_also_validates_what_it_read()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Scalar(connection, "SELECT id, amount, version FROM orders WHERE id = 101");
        await Execute(connection, "UPDATE orders SET amount = 1 WHERE id = 100");
        await db.PostgresAsync("DELETE FROM orders WHERE id = 101");

        var conflict = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());

        Assert.Equal("40001", conflict.SqlState);
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Rows_the_transaction_itself_changed_after_reading_them_are_no_conflict()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Scalar(connection, "SELECT * FROM orders WHERE id = 100");
        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
        await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 1");
        await transaction.CommitAsync();

        Assert.Equal(6, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task A_sqlite_database_read_then_changed_aborts_a_transaction_that_writes_elsewhere()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        await Scalar(connection, "SELECT balance FROM accounts WHERE id = 1");
        await Execute(connection, "INSERT INTO orders VALUES (104, 1, 100)");
        await db.SqliteAsync("UPDATE accounts SET balance = 0 WHERE id = 1"); // not through Khonsu

        var conflict = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());

        Assert.Equal("40001", conflict.SqlState);
        Assert.Contains("ledger", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 104"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task A_read_only_transaction_on_one_backend_commits_whatever_changed_meanwhile()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(5, await Scalar(connection, "SELECT amount FROM orders WHERE id = 100"));
        await db.PostgresAsync("UPDATE orders SET amount = 99 WHERE id = 100");
        Assert.Equal(5, await Scalar(connection, "SELECT amount FROM orders WHERE id = 100")); // one snapshot

        await transaction.CommitAsync();
    }

    [Fact]
    public async Task A_read_only_transaction_that_saw_half_of_another_transaction_fails_at_commit()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var reader = await db.OpenAsync();
        await using var writer = await db.OpenAsync();
        await using var report = await reader.BeginTransactionAsync();

        // The report reads the order (PostgreSQL snapshot), then a transfer changes both databases,
        // then the report reads the account (SQLite snapshot, taken now): it sees half the transfer.
        Assert.Equal(5, await Scalar(reader, "SELECT amount, id, version FROM orders WHERE id = 100"));
        await using (var transfer = await writer.BeginTransactionAsync())
        {
            await Execute(writer, "UPDATE orders SET amount = amount + 10 WHERE id = 100");
            await Execute(writer, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
            await transfer.CommitAsync();
        }

        Assert.Equal(90L, await Scalar(reader, "SELECT balance FROM accounts WHERE id = 1"));

        var fractured = await Assert.ThrowsAsync<KhonsuException>(() => report.CommitAsync());
        Assert.Equal("40001", fractured.SqlState);
    }
}
