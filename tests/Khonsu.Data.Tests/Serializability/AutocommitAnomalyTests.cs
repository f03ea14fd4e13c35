using Khonsu.TestSupport;
using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>
/// A writing statement run with no transaction (Dapper's <c>conn.Execute("INSERT ...")</c>) is a
/// Khonsu transaction of its own (key <c>Autocommit</c>, default <c>Transaction</c>): the certifier
/// sees it, so it cannot complete an anomaly that a serializable transaction would otherwise miss.
/// With <c>Autocommit=Direct</c> it runs uncertified, and the same interleaving shows the anomaly.
/// </summary>
public class AutocommitAnomalyTests
{
    private const string Certified = "Transaction";
    private const string Uncertified = "Direct";

    [Theory]
    [InlineData(Certified)]
    [InlineData(Uncertified)]
    public async Task Closing_a_day_misses_a_booking_made_in_autocommit_unless_the_booking_is_a_transaction_of_its_own(string autocommit)
    {
        // Closing counts the day's slots (a whole-table read on PostgreSQL, which no database
        // validates), closes the day and records the count on SQLite; a booking adds a slot to a
        // day that is still open, in one autocommit statement. Either order alone is consistent.
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE TABLE slots (id integer PRIMARY KEY, day integer NOT NULL); INSERT INTO slots VALUES (1, 1), (2, 1); CREATE TABLE day_status (day integer PRIMARY KEY, open integer NOT NULL); INSERT INTO day_status VALUES (1, 1);");
        await db.SqliteAsync("CREATE TABLE days (id INTEGER PRIMARY KEY, booked INTEGER); INSERT INTO days (id) VALUES (1);");
        await using var closer = await db.OpenAsync($";Autocommit={autocommit}");
        await using var booker = await db.OpenAsync($";Autocommit={autocommit}");
        await using var close = await closer.BeginTransactionAsync();

        var counted = await CountRowsAsync(closer, "SELECT * FROM slots WHERE day = 1");
        Assert.Equal(1, await Execute(booker, "INSERT INTO slots (id, day) SELECT 3, 1 FROM day_status WHERE day = 1 AND open = 1"));
        await Execute(closer, "UPDATE day_status SET open = 0 WHERE day = 1");
        await Execute(closer, $"UPDATE days SET booked = {counted} WHERE id = 1");
        var refused = await Record.ExceptionAsync(() => close.CommitAsync());

        var slots = await db.PostgresScalarAsync("SELECT count(*) FROM slots WHERE day = 1");
        var recorded = await db.SqliteScalarAsync("SELECT booked FROM days WHERE id = 1");
        if (autocommit == Uncertified)
        {
            Assert.Null(refused);
            Assert.Equal((3L, (object)2L), (slots, recorded!)); // the closed day says 2 slots; it has 3
        }
        else
        {
            var failure = Assert.IsType<KhonsuException>(refused);
            Assert.Equal("40001", failure.SqlState);
            Assert.True(failure.IsTransient);
            Assert.Equal((3L, (object)DBNull.Value), (slots, recorded!));
            Assert.Equal(1, await db.PostgresScalarAsync("SELECT open FROM day_status WHERE day = 1"));
        }
    }

    [Fact]
    public async Task A_booking_read_through_a_reader_is_refused_when_its_reader_closes_after_a_conflicting_close_committed()
    {
        // The same two transactions, the other way round: the booking's INSERT ... RETURNING is
        // still open (uncommitted) while the close counts, closes and commits; the booking then
        // commits last, when its reader is disposed, and it is the one refused.
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE TABLE slots (id integer PRIMARY KEY, day integer NOT NULL); INSERT INTO slots VALUES (1, 1), (2, 1); CREATE TABLE day_status (day integer PRIMARY KEY, open integer NOT NULL); INSERT INTO day_status VALUES (1, 1);");
        await db.SqliteAsync("CREATE TABLE days (id INTEGER PRIMARY KEY, booked INTEGER); INSERT INTO days (id) VALUES (1);");
        await using var closer = await db.OpenAsync();
        await using var booker = await db.OpenAsync();

        await using var book = new KhonsuCommand("INSERT INTO slots (id, day) SELECT 3, 1 FROM day_status WHERE day = 1 AND open = 1 RETURNING id", booker);
        var reader = await book.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        await using (var close = await closer.BeginTransactionAsync())
        {
            var counted = await CountRowsAsync(closer, "SELECT * FROM slots WHERE day = 1");
            await Execute(closer, "UPDATE day_status SET open = 0 WHERE day = 1");
            await Execute(closer, $"UPDATE days SET booked = {counted} WHERE id = 1");
            await close.CommitAsync();
        }

        var refused = await Assert.ThrowsAsync<KhonsuException>(() => reader.DisposeAsync().AsTask());

        Assert.Equal("40001", refused.SqlState);
        Assert.True(refused.IsTransient);
        Assert.Null(booker.CurrentTransaction);
        Assert.Equal((2L, (object)2L), (await db.PostgresScalarAsync("SELECT count(*) FROM slots WHERE day = 1"), (await db.SqliteScalarAsync("SELECT booked FROM days WHERE id = 1"))!));
        Assert.Equal(0, await Execute(booker, "INSERT INTO slots (id, day) SELECT 3, 1 FROM day_status WHERE day = 1 AND open = 1")); // retried: the day is closed now
    }

    [Fact]
    public async Task An_autocommit_update_that_waited_on_a_transactions_row_lock_fails_with_40001_once_that_transaction_commits()
    {
        // At READ COMMITTED, PostgreSQL would apply the update on top of the newer row; as a
        // transaction of its own (REPEATABLE READ, Khonsu's level) it sees that its snapshot is stale.
        await using var db = await TwoDatabases.CreateAsync();
        await using var writer = await db.OpenAsync();
        await using var autocommit = await db.OpenAsync();
        await using var transaction = await writer.BeginTransactionAsync();
        await Execute(writer, "UPDATE orders SET amount = 6 WHERE id = 100");
        await Execute(writer, "UPDATE accounts SET balance = 94 WHERE id = 1");

        var blocked = Execute(autocommit, "UPDATE orders SET amount = 50 WHERE id = 100");
        await db.UntilWaitingForLocksAsync(1, "the autocommit update to wait for the transaction's row lock");
        await transaction.CommitAsync();
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => blocked);

        Assert.Equal("40001", refused.SqlState);
        Assert.True(refused.IsTransient);
        Assert.NotNull(refused.TransactionId);
        Assert.Equal((6, 94L), (await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"), await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1")));
        Assert.Equal(1, await Execute(autocommit, "UPDATE orders SET amount = 50 WHERE id = 100")); // retried by hand: a transaction of its own again
    }

    [Fact]
    public async Task A_transaction_that_read_a_row_an_autocommit_statement_then_changed_fails_with_40001_when_it_writes_it_on_sqlite()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var reader = await db.OpenAsync();
        await using var autocommit = await db.OpenAsync();
        await using var transaction = await reader.BeginTransactionAsync();

        var balance = Convert.ToInt64(await Scalar(reader, "SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(1, await Execute(autocommit, "UPDATE accounts SET balance = balance - 30 WHERE id = 1"));
        var refused = await Record.ExceptionAsync(async () =>
        {
            await Execute(reader, $"UPDATE accounts SET balance = {balance - 10} WHERE id = 1");
            await transaction.CommitAsync();
        });

        Assert.Equal("40001", Assert.IsType<KhonsuException>(refused).SqlState);
        Assert.Equal(70L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    private static async Task<int> CountRowsAsync(KhonsuConnection connection, string sql)
    {
        await using var command = new KhonsuCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = 0;
        while (await reader.ReadAsync())
        {
            rows++;
        }

        return rows;
    }
}
