using System.Data;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>What serializability must not cost: interleavings that are already serializable commit.</summary>
public class NonAnomalyTests
{
    [Fact]
    public async Task Disjoint_writers_both_commit()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var t1 = await KhonsuSession.BeginAsync(db, "T1", IsolationLevel.Serializable);
        await using var t2 = await KhonsuSession.BeginAsync(db, "T2", IsolationLevel.Serializable);

        await t1.WriteAsync(Db.Postgres, "UPDATE orders SET amount = 6 WHERE id = 100");
        await t2.WriteAsync(Db.Postgres, "UPDATE orders SET amount = 8 WHERE id = 101");
        await t1.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = 99 WHERE id = 1");
        await t2.CommitAsync();
        await t1.CommitAsync();

        Assert.Equal(2, AnomalyTests.Committed(t1, t2));
        Assert.Equal(14L, Convert.ToInt64(await db.PostgresScalarAsync("SELECT sum(amount) FROM orders")));
    }

    [Fact]
    public async Task A_reader_and_a_writer_of_unrelated_rows_both_commit()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var t1 = await KhonsuSession.BeginAsync(db, "T1", IsolationLevel.Serializable);
        await using var t2 = await KhonsuSession.BeginAsync(db, "T2", IsolationLevel.Serializable);

        await t1.ReadAsync(Db.Postgres, "SELECT * FROM orders WHERE id = 100"); // the row, by key and version
        await t2.WriteAsync(Db.Postgres, "UPDATE orders SET amount = 8 WHERE id = 101");
        await t2.CommitAsync();
        await t1.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = 99 WHERE id = 1");
        await t1.CommitAsync();

        Assert.Equal(2, AnomalyTests.Committed(t1, t2));
    }

    [Fact]
    public async Task A_sqlite_row_read_by_key_is_not_a_conflict_with_a_write_of_another_row_of_its_table()
    {
        // T2 read order 100, which T1 writes (T2 -rw-> T1), and wrote account 2. T1 then reads
        // account 1 by key, on a SQLite snapshot taken after T2 committed: T2 then T1 is a serial
        // order. Were the SQLite read a read of the whole accounts table, T1 -rw-> T2 would close a
        // cycle and T1 would be refused for nothing.
        await using var db = await TwoDatabases.CreateAsync();
        await using var t1 = await KhonsuSession.BeginAsync(db, "T1", IsolationLevel.Serializable);
        await using var t2 = await KhonsuSession.BeginAsync(db, "T2", IsolationLevel.Serializable);

        await t1.ReadAsync(Db.Postgres, "SELECT id, amount FROM orders WHERE id = 100"); // T1's snapshot: before T2
        await t2.ReadAsync(Db.Postgres, "SELECT id, amount FROM orders WHERE id = 100");
        await t2.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = 5 WHERE id = 2");
        await t2.CommitAsync();
        Assert.Equal(1, await t1.CountRowsAsync(Db.Sqlite, "SELECT id, balance FROM accounts WHERE id = 1"));
        await t1.WriteAsync(Db.Postgres, "UPDATE orders SET amount = 1 WHERE id = 100");
        await t1.CommitAsync();

        Assert.Equal(2, AnomalyTests.Committed(t1, t2));
    }

    [Fact]
    public async Task An_overlapping_but_serializable_interleaving_commits()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 7)");
        await using var t1 = await KhonsuSession.BeginAsync(db, "T1", IsolationLevel.Serializable);
        await using var t2 = await KhonsuSession.BeginAsync(db, "T2", IsolationLevel.Serializable);

        await t2.ReadAsync(Db.Sqlite, "SELECT balance FROM accounts WHERE id = 2"); // T2 has begun
        var a = await t1.ReadAsync(Db.Sqlite, "SELECT balance FROM accounts WHERE id = 1");
        await t1.WriteAsync(Db.Postgres, $"UPDATE orders SET amount = {a} WHERE id = 100");
        await t1.CommitAsync();
        var b = await t2.ReadAsync(Db.Postgres, "SELECT amount FROM orders WHERE id = 100"); // sees T1: T1 then T2
        await t2.WriteAsync(Db.Postgres, $"UPDATE orders SET amount = {b + 1} WHERE id = 101");
        await t2.CommitAsync();

        Assert.Equal(2, AnomalyTests.Committed(t1, t2));
        Assert.Equal(101, Convert.ToInt32(await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101")));
    }
}
