using System.Data;
using static Khonsu.Data.Tests.Serializability.AnomalyTests;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>
/// Phantoms (issue 3): a read by predicate, even one whose result carries each row's key and
/// version, also read the rows a concurrent transaction inserts into its range. Slots live on
/// PostgreSQL ("shop"), days on SQLite ("ledger"), so that the cycles cross the databases and
/// neither of them can see one. Point lookups by key still conflict only with their own keys.
/// </summary>
public class PhantomTests
{
    [Theory]
    [InlineData(Plain)]
    [InlineData(Serializable)]
    public async Task Two_bookings_that_each_counted_the_rows_of_a_day_overbook_it(string mode)
    {
        // At most 3 slots a day: each transaction lists day 1 (by key and version) and adds one if it may.
        await using var db = await SlotsAndDaysAsync();
        await using var t1 = await BeginAsync(db, mode, "T1");
        await using var t2 = await BeginAsync(db, mode, "T2");

        Assert.Equal(2, await t1.CountRowsAsync(Db.Postgres, "SELECT * FROM slots WHERE day = 1"));
        Assert.Equal(2, await t2.CountRowsAsync(Db.Postgres, "SELECT * FROM slots WHERE day = 1"));
        await t1.WriteAsync(Db.Postgres, "INSERT INTO slots (id, day) VALUES (3, 1)");
        await t2.WriteAsync(Db.Postgres, "INSERT INTO slots (id, day) VALUES (4, 1)");
        await t1.CommitAsync();
        await t2.CommitAsync();

        var booked = Convert.ToInt64(await db.PostgresScalarAsync("SELECT count(*) FROM slots WHERE day = 1"));
        if (mode == Plain)
        {
            Assert.Equal((2, 4L), (Committed(t1, t2), booked));
        }
        else
        {
            Assert.Equal(3L, booked);
            AssertSerializationFailure(t2);
        }
    }

    [Theory]
    [InlineData(Plain)]
    [InlineData(Serializable)]
    public async Task Closing_a_day_misses_a_booking_its_count_did_not_see(string mode)
    {
        // Closing records how many slots the day has; booking adds a slot to a day that is open.
        await using var db = await SlotsAndDaysAsync();
        await using var close = await BeginAsync(db, mode, "close day");
        await using var book = await BeginAsync(db, mode, "book");

        var counted = await close.CountRowsAsync(Db.Postgres, "SELECT * FROM slots WHERE day = 1"); // with Khonsu's version column
        Assert.Equal(0, await book.ReadAsync(Db.Sqlite, "SELECT closed FROM days WHERE id = 1"));
        await book.WriteAsync(Db.Postgres, "INSERT INTO slots (id, day) VALUES (3, 1)");
        await book.CommitAsync();
        await close.WriteAsync(Db.Sqlite, $"UPDATE days SET closed = 1, booked = {counted} WHERE id = 1");
        await close.CommitAsync();

        var recorded = Convert.ToInt64(await db.SqliteScalarAsync("SELECT CASE closed WHEN 1 THEN booked ELSE -1 END FROM days WHERE id = 1"));
        Assert.True(book.Committed);
        if (mode == Plain)
        {
            Assert.Equal(2L, recorded); // the closed day says 2 slots; it has 3
        }
        else
        {
            Assert.Equal(-1L, recorded);
            AssertSerializationFailure(close);
        }
    }

    [Theory]
    [InlineData(Plain)]
    [InlineData(Serializable)]
    public async Task Repricing_a_day_by_update_misses_a_slot_inserted_beside_it(string mode)
    {
        // Repricing marks every slot of the day, then the day; a booking on a day not yet repriced adds an old-price slot.
        await using var db = await SlotsAndDaysAsync();
        await using var reprice = await BeginAsync(db, mode, "reprice");
        await using var book = await BeginAsync(db, mode, "book");

        await reprice.WriteAsync(Db.Postgres, "UPDATE slots SET repriced = 1 WHERE day = 1");
        var repriced = await book.ReadAsync(Db.Sqlite, "SELECT repriced FROM days WHERE id = 1");
        await book.WriteAsync(Db.Postgres, $"INSERT INTO slots (id, day, repriced) VALUES (3, 1, {repriced})");
        await book.CommitAsync();
        await reprice.WriteAsync(Db.Sqlite, "UPDATE days SET repriced = 1 WHERE id = 1");
        await reprice.CommitAsync();

        var dayRepriced = Convert.ToInt64(await db.SqliteScalarAsync("SELECT repriced FROM days WHERE id = 1"));
        var oldPrices = Convert.ToInt64(await db.PostgresScalarAsync("SELECT count(*) FROM slots WHERE day = 1 AND repriced = 0"));
        Assert.True(book.Committed);
        if (mode == Plain)
        {
            Assert.Equal((1L, 1L), (dayRepriced, oldPrices)); // the day says repriced; one slot is not
        }
        else
        {
            Assert.Equal(0L, dayRepriced);
            AssertSerializationFailure(reprice);
        }
    }

    [Theory]
    [InlineData("SELECT * FROM slots WHERE id = 1", true)]
    [InlineData("SELECT id, version, day FROM slots WHERE id IN (1, 2)", true)]
    [InlineData("SELECT * FROM slots s WHERE s.day = 1 AND s.id = 2", true)]
    [InlineData("SELECT * FROM slots WHERE id = 3", false)] // found nothing: the insert of 3 is what it missed
    [InlineData("SELECT * FROM slots WHERE id IN (1, 3)", false)] // found 1 of 2 keys
    [InlineData("SELECT * FROM slots WHERE id = 1 OR id = 3", false)] // no point lookup
    [InlineData("SELECT * FROM slots WHERE day = 1", false)]
    [InlineData("UPDATE slots SET repriced = 1 WHERE id = 1", true)]
    [InlineData("DELETE FROM slots WHERE id IN (1, 2)", true)]
    [InlineData("UPDATE slots SET repriced = 1 WHERE id = 3", false)] // changed nothing: the insert of 3 is what it missed
    [InlineData("DELETE FROM slots WHERE id = 1 AND day = 2", false)]
    [InlineData("UPDATE slots SET repriced = 1 WHERE day = 1", false)]
    [InlineData("DELETE FROM slots WHERE day = 1", false)]
    public async Task A_point_statement_conflicts_only_with_inserts_of_the_keys_it_looked_up(string sql, bool commits)
    {
        // Book reads the day that T1 then writes: with a conflict out of T1 as well, T1 is a pivot.
        await using var db = await SlotsAndDaysAsync();
        await using var t1 = await KhonsuSession.BeginAsync(db, "T1", IsolationLevel.Serializable);
        await using var book = await KhonsuSession.BeginAsync(db, "book", IsolationLevel.Serializable);

        if (sql.StartsWith("SELECT", StringComparison.Ordinal))
        {
            await t1.CountRowsAsync(Db.Postgres, sql);
        }
        else
        {
            await t1.WriteAsync(Db.Postgres, sql);
        }

        await BookSlotThreeThenCommitAsync(t1, book, commits);
    }

    [Theory]
    [InlineData(new[] { 1, 2 }, true)]
    [InlineData(new[] { 2 }, true)]
    [InlineData(new int[0], true)] // matches no row, whatever is inserted
    [InlineData(new[] { 1, 3 }, false)] // found 1 of 2 keys: the insert of 3 is what it missed
    [InlineData(new[] { 3 }, false)]
    public async Task A_lookup_of_an_array_of_keys_conflicts_only_with_inserts_of_the_keys_it_looked_up(int[] ids, bool commits)
    {
        // As above: the key count comes from the parameter's value, for the same text each time.
        await using var db = await SlotsAndDaysAsync();
        await using var t1 = await KhonsuSession.BeginAsync(db, "T1", IsolationLevel.Serializable);
        await using var book = await KhonsuSession.BeginAsync(db, "book", IsolationLevel.Serializable);

        await t1.CountRowsAsync(Db.Postgres, "SELECT id, version, day FROM slots WHERE id = ANY(@ids)", ("ids", ids));
        await BookSlotThreeThenCommitAsync(t1, book, commits);
    }

    /// <summary>
    /// Book reads day 1 and inserts slot 3 on it, and commits; T1 then writes day 1, which Book
    /// read, so a conflict of T1's own read with Book's insert makes T1 a pivot: it commits or not.
    /// </summary>
    private static async Task BookSlotThreeThenCommitAsync(KhonsuSession t1, KhonsuSession book, bool commits)
    {
        await book.ReadAsync(Db.Sqlite, "SELECT closed FROM days WHERE id = 1");
        await book.WriteAsync(Db.Postgres, "INSERT INTO slots (id, day) VALUES (3, 1)");
        await book.CommitAsync();
        await t1.WriteAsync(Db.Sqlite, "UPDATE days SET booked = 2 WHERE id = 1");
        await t1.CommitAsync();

        Assert.True(book.Committed);
        if (commits)
        {
            Assert.True(t1.Committed, t1.Failure?.Message);
        }
        else
        {
            AssertSerializationFailure(t1);
        }
    }

    /// <summary>slots 1 and 2 on day 1 (PostgreSQL); day 1, open, not repriced (SQLite).</summary>
    private static async Task<TwoDatabases> SlotsAndDaysAsync()
    {
        var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE TABLE slots (id integer PRIMARY KEY, day integer NOT NULL, repriced integer NOT NULL DEFAULT 0); INSERT INTO slots (id, day) VALUES (1, 1), (2, 1);");
        await db.SqliteAsync("CREATE TABLE days (id INTEGER PRIMARY KEY, closed INTEGER NOT NULL DEFAULT 0, booked INTEGER, repriced INTEGER NOT NULL DEFAULT 0); INSERT INTO days (id) VALUES (1);");
        return db;
    }
}
