using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

/// <summary>
/// A PostgreSQL row read and then changed by another Khonsu transaction that committed first is an
/// rw-antidependency, not an anomaly: the reader serializes before the writer and commits. Its
/// twin, where the writer also read what the reader writes (write skew), still fails with 40001.
/// </summary>
public class StaleRowReadTests
{
    [Fact]
    public async Task A_row_read_then_changed_by_a_khonsu_transaction_that_committed_first_does_not_abort_the_reader()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var connection = await db.OpenAsync();
        await using var other = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(7, await Scalar(connection, "SELECT amount, id, version FROM orders WHERE id = 101"));
        await using (var writer = await other.BeginTransactionAsync())
        {
            await Execute(other, "UPDATE orders SET amount = 70 WHERE id = 101");
            await writer.CommitAsync();
        }

        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
        await transaction.CommitAsync(); // serial order: this transaction, then the writer

        Assert.Equal(6, await db.PostgresScalarAsync("SELECT amount, id, version FROM orders WHERE id = 100"));
        Assert.Equal(70, await db.PostgresScalarAsync("SELECT amount, id, version FROM orders WHERE id = 101"));
    }

    [Fact]
    public async Task Write_skew_through_rows_read_on_postgres_still_aborts_the_second_to_commit()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var connection = await db.OpenAsync();
        await using var other = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(7, await Scalar(connection, "SELECT amount, id, version FROM orders WHERE id = 101"));
        await using (var writer = await other.BeginTransactionAsync())
        {
            Assert.Equal(5, await Scalar(other, "SELECT amount, id, version FROM orders WHERE id = 100"));
            await Execute(other, "UPDATE orders SET amount = 70 WHERE id = 101");
            await writer.CommitAsync();
        }

        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
        var conflict = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());

        Assert.Equal("40001", conflict.SqlState);
        Assert.Contains("dangerous structure", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount, id, version FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task A_row_read_that_a_khonsu_writer_still_holds_uncommitted_aborts_the_reader()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var connection = await db.OpenAsync();
        await using var other = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var writer = await other.BeginTransactionAsync();

        Assert.Equal(7, await Scalar(connection, "SELECT amount, id, version FROM orders WHERE id = 101"));
        await Execute(other, "UPDATE orders SET amount = 70 WHERE id = 101"); // holds the row, not certified
        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");

        // The holder could be a writer outside Khonsu that commits first: the certifier cannot tell.
        var conflict = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());
        Assert.Equal("40001", conflict.SqlState);
        Assert.Contains("orders", conflict.Message, StringComparison.Ordinal);
        await writer.CommitAsync();
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount, id, version FROM orders WHERE id = 100"));
    }

    /// <summary>
    /// A row read that a prepared transaction holds: under a Khonsu name, a writer that is certified
    /// before it commits (the name is no transaction id, so no recovery settles it while the test
    /// runs), so the reader commits; under any other name, a writer the certifier cannot know, so the
    /// reader is refused.
    /// </summary>
    [Theory]
    [InlineData("khonsu:stale-row-test", true)]
    [InlineData("someone-else", false)]
    public async Task A_row_read_that_a_prepared_transaction_holds_aborts_the_reader_unless_khonsu_prepared_it(string gid, bool commits)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Equal(7, await Scalar(connection, "SELECT amount, id, version FROM orders WHERE id = 101"));
        await db.PostgresAsync($"BEGIN; UPDATE orders SET amount = 70 WHERE id = 101; PREPARE TRANSACTION '{gid}'");
        KhonsuException? conflict = null;
        try
        {
            await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
            conflict = await Record.ExceptionAsync(() => transaction.CommitAsync()) as KhonsuException;
        }
        finally
        {
            await db.PostgresAsync($"ROLLBACK PREPARED '{gid}'");
        }

        Assert.Equal(commits, conflict is null);
        Assert.Equal(commits ? null : "40001", conflict?.SqlState);
        Assert.Equal(commits ? 6 : 5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }
}
