using System.Data;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>
/// The classic anomalies, with tables split across SQLite ("ledger") and PostgreSQL ("shop"), each
/// run in one interleaving under plain two-phase commit (where it happens) and through Khonsu
/// (where it must not). Khonsu's Snapshot level shows write skew on purpose: it checks
/// write-write conflicts only.
/// </summary>
public class AnomalyTests
{
    public const string Plain = "plain two-phase commit";
    public const string Serializable = "khonsu serializable";
    public const string Snapshot = "khonsu snapshot";

    [Theory]
    [InlineData(Plain)]
    [InlineData(Serializable)]
    public async Task Lost_update(string mode)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var t1 = await BeginAsync(db, mode, "T1");
        await using var t2 = await BeginAsync(db, mode, "T2");

        var read1 = await t1.ReadAsync(Db.Postgres, "SELECT amount FROM orders WHERE id = 100");
        var read2 = await t2.ReadAsync(Db.Postgres, "SELECT amount FROM orders WHERE id = 100");
        await t1.WriteAsync(Db.Postgres, $"UPDATE orders SET amount = {read1 + 1} WHERE id = 100");
        await t1.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = balance - 1 WHERE id = 1");
        await t1.CommitAsync();
        await t2.WriteAsync(Db.Postgres, $"UPDATE orders SET amount = {read2 + 1} WHERE id = 100");
        await t2.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = balance - 1 WHERE id = 2");
        await t2.CommitAsync();

        var increments = Convert.ToInt32(await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100")) - 5;
        var committed = Committed(t1, t2);
        if (mode == Plain)
        {
            Assert.Equal((2, 1), (committed, increments)); // two acknowledged increments, one survives
        }
        else
        {
            Assert.Equal(committed, increments);
            AssertSerializationFailure(t2);
        }
    }

    [Theory]
    [InlineData(Plain)]
    [InlineData(Snapshot)]
    [InlineData(Serializable)]
    public async Task Write_skew_two_doctors_on_call(string mode)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE TABLE doctor_a (id INTEGER PRIMARY KEY, on_call INTEGER NOT NULL); INSERT INTO doctor_a VALUES (1, 1);");
        await db.PostgresAsync("CREATE TABLE doctor_b (id integer PRIMARY KEY, on_call integer NOT NULL); INSERT INTO doctor_b VALUES (1, 1);");
        await using var t1 = await BeginAsync(db, mode, "T1");
        await using var t2 = await BeginAsync(db, mode, "T2");

        // Each may go off call if the other is on call.
        foreach (var t in new[] { t1, t2 })
        {
            Assert.Equal(2, await t.ReadAsync(Db.Sqlite, "SELECT on_call FROM doctor_a WHERE id = 1") + await t.ReadAsync(Db.Postgres, "SELECT on_call FROM doctor_b WHERE id = 1"));
        }

        await t1.WriteAsync(Db.Sqlite, "UPDATE doctor_a SET on_call = 0 WHERE id = 1");
        await t2.WriteAsync(Db.Postgres, "UPDATE doctor_b SET on_call = 0 WHERE id = 1");
        await t1.CommitAsync();
        await t2.CommitAsync();

        var onCall = Convert.ToInt64(await db.SqliteScalarAsync("SELECT on_call FROM doctor_a")) + Convert.ToInt64(await db.PostgresScalarAsync("SELECT on_call FROM doctor_b"));
        if (mode == Serializable)
        {
            Assert.Equal(1, onCall);
            Assert.Equal(1, Committed(t1, t2));
            AssertSerializationFailure(t1.Failure is null ? t2 : t1);
        }
        else
        {
            Assert.Equal((2, 0L), (Committed(t1, t2), onCall)); // nobody on call
        }
    }

    [Theory]
    [InlineData(Plain)]
    [InlineData(Serializable)]
    public async Task Read_only_anomaly_batch_and_receipts(string mode)
    {
        // Fekete, O'Neil and O'Neil: a report of a closed batch misses a receipt added to it later.
        await using var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE TABLE control (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL); INSERT INTO control VALUES (1, 1);");
        await db.PostgresAsync("CREATE TABLE receipts (id integer PRIMARY KEY, batch integer NOT NULL, amount integer NOT NULL);");
        await using var receipt = await BeginAsync(db, mode, "new receipt");
        await using var close = await BeginAsync(db, mode, "close batch");
        await using var report = await BeginAsync(db, mode, "report");

        var batch = await receipt.ReadAsync(Db.Sqlite, "SELECT batch FROM control WHERE id = 1");
        await close.WriteAsync(Db.Sqlite, "UPDATE control SET batch = batch + 1 WHERE id = 1");
        await close.CommitAsync();
        var current = await report.ReadAsync(Db.Sqlite, "SELECT batch FROM control WHERE id = 1");
        var reported = await report.ReadAsync(Db.Postgres, $"SELECT coalesce(sum(amount), 0) FROM receipts WHERE batch = {current - 1}");
        await report.CommitAsync();
        await receipt.WriteAsync(Db.Postgres, $"INSERT INTO receipts VALUES (1, {batch}, 10)");
        await receipt.CommitAsync();

        var actual = Convert.ToInt64(await db.PostgresScalarAsync($"SELECT coalesce(sum(amount), 0) FROM receipts WHERE batch = {current - 1}"));
        Assert.True(report.Committed && close.Committed);
        if (mode == Plain)
        {
            Assert.Equal((0L, 10L), (reported, actual)); // the closed batch's report was wrong
        }
        else
        {
            Assert.Equal(reported, actual);
            AssertSerializationFailure(receipt);
        }
    }

    [Theory]
    [InlineData(Plain)]
    [InlineData(Serializable)]
    public async Task Phantom_through_an_aggregate_over_rows_a_concurrent_transaction_inserts(string mode)
    {
        // At most 10 hours over both tables; each transaction adds 3 if the sums allow it.
        await using var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE TABLE shifts_a (id INTEGER PRIMARY KEY, hours INTEGER NOT NULL); INSERT INTO shifts_a VALUES (1, 3);");
        await db.PostgresAsync("CREATE TABLE shifts_b (id integer PRIMARY KEY, hours integer NOT NULL); INSERT INTO shifts_b VALUES (1, 3);");
        await using var t1 = await BeginAsync(db, mode, "T1");
        await using var t2 = await BeginAsync(db, mode, "T2");

        var b1 = await t1.ReadAsync(Db.Postgres, "SELECT sum(hours) FROM shifts_b");
        var a2 = await t2.ReadAsync(Db.Sqlite, "SELECT sum(hours) FROM shifts_a");
        var b2 = await t2.ReadAsync(Db.Postgres, "SELECT sum(hours) FROM shifts_b");
        Assert.True(a2 + b2 + 3 <= 10);
        await t2.WriteAsync(Db.Postgres, "INSERT INTO shifts_b (id, hours) VALUES (2, 3)");
        await t2.CommitAsync();
        var a1 = await t1.ReadAsync(Db.Sqlite, "SELECT sum(hours) FROM shifts_a");
        Assert.True(a1 + b1 + 3 <= 10); // T1 never sees T2's row: its PostgreSQL snapshot is older
        await t1.WriteAsync(Db.Sqlite, "INSERT INTO shifts_a (id, hours) VALUES (2, 3)");
        await t1.CommitAsync();

        var total = Convert.ToInt64(await db.SqliteScalarAsync("SELECT sum(hours) FROM shifts_a")) + Convert.ToInt64(await db.PostgresScalarAsync("SELECT sum(hours) FROM shifts_b"));
        if (mode == Plain)
        {
            Assert.Equal((2, 12L), (Committed(t1, t2), total));
        }
        else
        {
            Assert.Equal(9L, total);
            AssertSerializationFailure(t1);
            // The certifier found it: the message names the item and the other transaction.
            Assert.Contains("shop.shifts_b", t1.Failure!.Message, StringComparison.Ordinal);
            Assert.Contains(((KhonsuSession)t2).TransactionId, t1.Failure.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(Plain)]
    [InlineData(Serializable)]
    public async Task G2_cycle_over_three_transactions(string mode)
    {
        // T1 reads x and writes y, T2 reads y and writes z, T3 reads z and writes x: each writes
        // what it read plus one. In any serial order someone reads a 1 and writes a 2.
        await using var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE TABLE gx (id INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO gx VALUES (1, 0);");
        await db.PostgresAsync("CREATE TABLE gy (id integer PRIMARY KEY, v integer NOT NULL); INSERT INTO gy VALUES (1, 0); CREATE TABLE gz (id integer PRIMARY KEY, v integer NOT NULL); INSERT INTO gz VALUES (1, 0);");
        await using var t1 = await BeginAsync(db, mode, "T1");
        await using var t2 = await BeginAsync(db, mode, "T2");
        await using var t3 = await BeginAsync(db, mode, "T3");

        var x = await t1.ReadAsync(Db.Sqlite, "SELECT v FROM gx WHERE id = 1");
        var y = await t2.ReadAsync(Db.Postgres, "SELECT v FROM gy WHERE id = 1");
        var z = await t3.ReadAsync(Db.Postgres, "SELECT v FROM gz WHERE id = 1");
        await t1.WriteAsync(Db.Postgres, $"UPDATE gy SET v = {x + 1} WHERE id = 1");
        await t2.WriteAsync(Db.Postgres, $"UPDATE gz SET v = {y + 1} WHERE id = 1");
        await t3.WriteAsync(Db.Sqlite, $"UPDATE gx SET v = {z + 1} WHERE id = 1");
        await t1.CommitAsync();
        await t2.CommitAsync();
        await t3.CommitAsync();

        var final = (Convert.ToInt64(await db.SqliteScalarAsync("SELECT v FROM gx")), Convert.ToInt64(await db.PostgresScalarAsync("SELECT v FROM gy")), Convert.ToInt64(await db.PostgresScalarAsync("SELECT v FROM gz")));
        if (mode == Plain)
        {
            Assert.Equal((3, (1L, 1L, 1L)), (Committed(t1, t2, t3), final));
        }
        else
        {
            Assert.InRange(Committed(t1, t2, t3), 1, 2);
            Assert.NotEqual((1L, 1L, 1L), final);
            AssertSerializationFailure(new[] { t1, t2, t3 }.First(t => t.Failure is not null));
        }
    }

    internal static async Task<Session> BeginAsync(TwoDatabases db, string mode, string name) => mode switch
    {
        Plain => await PlainTwoPhaseSession.BeginAsync(db, name),
        Snapshot => await KhonsuSession.BeginAsync(db, name, IsolationLevel.Snapshot),
        _ => await KhonsuSession.BeginAsync(db, name, IsolationLevel.Serializable),
    };

    internal static int Committed(params Session[] sessions) => sessions.Count(s => s.Committed);

    internal static void AssertSerializationFailure(Session session)
    {
        Assert.False(session.Committed, $"{session.Name} committed");
        Assert.NotNull(session.Failure);
        Assert.Equal("40001", session.Failure.SqlState);
    }
}
