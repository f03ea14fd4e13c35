using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

/// <summary>
/// SQLite reads are validated row by row where the transaction read rows by key, by each row's
/// version: a commit to another row of the file since the snapshot no longer refuses the reader,
/// while a change to a row it read is a conflict (an outside writer's), or an rw-antidependency
/// the certifier weighs (a Khonsu writer's). A predicate read keeps the file-level validation.
/// </summary>
public class SqliteRowValidationTests
{
    private const string ReadAccountOne = "SELECT balance, id FROM accounts WHERE id = 1";

    [Theory]
    [InlineData("UPDATE accounts SET balance = 7 WHERE id = 2", true)] // another row: admitted
    [InlineData("INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 1)", true)] // a new row the point read could not match
    [InlineData("UPDATE accounts SET balance = 7 WHERE id = 1", false)] // the row read: refused
    [InlineData("UPDATE accounts SET owner = owner WHERE id = 1", false)] // same values, a new version
    [InlineData("DELETE FROM accounts WHERE id = 1", false)]
    public async Task A_row_read_by_key_is_validated_by_its_version_against_a_writer_outside_khonsu(string outsideWrite, bool commits)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(100L, await Scalar(connection, ReadAccountOne));
        await db.SqliteAsync(outsideWrite);
        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");

        if (commits)
        {
            await transaction.CommitAsync();
            Assert.Equal(6, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        }
        else
        {
            // The certifier knows no transaction that wrote the row: a writer outside Khonsu, whose reads it cannot know.
            var conflict = await RefusedAsync(transaction);
            Assert.Contains("accounts", conflict.Message, StringComparison.Ordinal);
            Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        }
    }

    [Fact]
    public async Task A_row_read_then_changed_by_a_khonsu_transaction_that_committed_first_does_not_abort_the_reader()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var other = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(100L, await Scalar(connection, ReadAccountOne));
        await using (var writer = await other.BeginTransactionAsync())
        {
            await Execute(other, "UPDATE accounts SET balance = 70 WHERE id = 1");
            await writer.CommitAsync();
        }

        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
        await transaction.CommitAsync(); // serial order: this transaction, then the writer

        Assert.Equal(6, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(70L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task Write_skew_through_a_row_read_on_sqlite_still_aborts_the_second_to_commit()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var other = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(100L, await Scalar(connection, ReadAccountOne));
        await using (var writer = await other.BeginTransactionAsync())
        {
            Assert.Equal(5, await Scalar(other, "SELECT amount, id FROM orders WHERE id = 100"));
            await Execute(other, "UPDATE accounts SET balance = 70 WHERE id = 1");
            await writer.CommitAsync();
        }

        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
        var conflict = await RefusedAsync(transaction);

        Assert.Contains("dangerous structure", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task A_predicate_read_on_sqlite_is_still_validated_for_the_whole_file()
    {
        // The rows it returned are unchanged; the new row is a phantom only the file's change shows.
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(1L, await Scalar(connection, "SELECT id, balance FROM accounts WHERE balance > 60"));
        await db.SqliteAsync("INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 70)");
        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");

        await RefusedAsync(transaction);
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(1, false)]
    public async Task A_read_only_transaction_over_both_backends_is_refused_only_for_a_row_it_read(int changedAccount, bool commits)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(100L, await Scalar(connection, ReadAccountOne));
        await db.SqliteAsync($"UPDATE accounts SET balance = 7 WHERE id = {changedAccount}");
        Assert.Equal(5, await Scalar(connection, "SELECT amount, id FROM orders WHERE id = 100"));

        if (commits)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await RefusedAsync(transaction);
        }
    }

    private static async Task<KhonsuException> RefusedAsync(KhonsuTransaction transaction)
    {
        var conflict = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());
        Assert.Equal("40001", conflict.SqlState);
        return conflict;
    }
}
