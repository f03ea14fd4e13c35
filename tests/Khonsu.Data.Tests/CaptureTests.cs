using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

public class CaptureTests
{
    [Fact]
    public async Task The_commit_record_holds_what_the_databases_captured()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, "UPDATE accounts SET balance = 90 WHERE id = 1");
        await Execute(connection, "INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 10)");
        await Execute(connection, "DELETE FROM accounts WHERE id = 2");
        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
        await transaction.CommitAsync();

        var commit = await CommitRecordAsync(db, transaction.TransactionId);

        var ledger = commit.Participants.Single(p => p.Participant == "ledger");
        Assert.True(ledger.NeedsRedo);
        var update = ledger.Writes.Single(w => w.Key == "1");
        Assert.Equal(("accounts", WriteKind.Update, 1L, 2L), (update.Table, update.Kind, update.OldVersion, update.NewVersion));
        Assert.Equal(90L, update.Image!["balance"]);
        var insert = ledger.Writes.Single(w => w.Key == "3");
        Assert.Equal((WriteKind.Insert, (long?)null, 1L), (insert.Kind, insert.OldVersion, insert.NewVersion));
        Assert.Equal("cy", insert.Image!["owner"]);
        var delete = ledger.Writes.Single(w => w.Key == "2");
        Assert.Equal((WriteKind.Delete, 1L, (long?)null), (delete.Kind, delete.OldVersion, delete.NewVersion));

        var shop = commit.Participants.Single(p => p.Participant == "shop");
        Assert.False(shop.NeedsRedo);
        var order = Assert.Single(shop.Writes);
        Assert.Equal(("orders", "100", WriteKind.Update, 1L, 2L), (order.Table, order.Key, order.Kind, order.OldVersion, order.NewVersion));
    }

    [Fact]
    public async Task An_existing_version_column_is_adopted()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, version INTEGER NOT NULL DEFAULT 7); INSERT INTO items (id, name) VALUES (1, 'a')");
        await db.PostgresAsync("CREATE TABLE parts (id int PRIMARY KEY, name text, version bigint NOT NULL DEFAULT 7); INSERT INTO parts (id, name) VALUES (1, 'a')");
        await using var connection = await db.OpenAsync();

        await Execute(connection, "UPDATE items SET name = 'b' WHERE id = 1");
        await Execute(connection, "UPDATE parts SET name = 'b' WHERE id = 1");

        Assert.Equal(1L, await db.SqliteScalarAsync("SELECT count(*) FROM pragma_table_info('items') WHERE name = 'version'"));
        Assert.Equal(8L, await db.SqliteScalarAsync("SELECT version FROM items WHERE id = 1"));
        Assert.Equal(8L, await db.PostgresScalarAsync("SELECT version FROM parts WHERE id = 1"));
    }

    [Fact]
    public async Task Writes_outside_khonsu_transactions_are_not_captured()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await Execute(connection, "UPDATE orders SET amount = 1 WHERE id = 100");
        await db.PostgresAsync("UPDATE orders SET amount = 2 WHERE id = 100");

        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM khonsu.capture"));
    }

    [Fact]
    public async Task Writes_khonsu_runs_with_no_transaction_leave_no_capture_rows_behind()
    {
        // Khonsu's PostgreSQL connections capture by transaction id with no statement of their
        // own; a statement run straight on the backend (Autocommit=Direct) is no Khonsu
        // transaction, and nothing would take its rows out of the capture table again.
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("ALTER DATABASE " + db.Postgres.Name + " SET default_transaction_isolation = 'repeatable read'");
        await using var connection = await db.OpenAsync(";Autocommit=Direct");

        await Execute(connection, "UPDATE orders SET amount = 1 WHERE id = 100");
        await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 3)");

        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM khonsu.capture"));
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, "UPDATE orders SET amount = 4 WHERE id = 101");
        await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 1"); // two participants: a commit record
        await transaction.CommitAsync();
        var order = Assert.Single((await CommitRecordAsync(db, transaction.TransactionId)).Participants.Single(p => p.Participant == "shop").Writes);
        Assert.Equal(("orders", "101", WriteKind.Update), (order.Table, order.Key, order.Kind));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM khonsu.capture"));
    }

    [Fact]
    public async Task A_schema_installed_by_an_older_version_is_refused_with_directions_under_Schema_Manual()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using (var installing = await db.OpenAsync())
        {
            await KhonsuConnection.ClearPoolAsync(installing); // the log is free for the next connection string
        }

        // An older version's capture function: it knew Khonsu's transactions by khonsu.tx_id only.
        await db.PostgresAsync("""
            CREATE OR REPLACE FUNCTION khonsu.capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF current_setting('khonsu.tx_id', true) IS NULL THEN RETURN NULL; END IF;
                RETURN NULL;
            END $fn$
            """);

        var error = await Assert.ThrowsAnyAsync<KhonsuException>(() => db.OpenAsync(";Schema=Manual"));
        Assert.Contains("installed by an older version", error.Message, StringComparison.Ordinal);
        Assert.Contains("khonsu schema install", error.Message, StringComparison.Ordinal);

        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(db.ConnectionString(";Schema=Manual")));
        await using var upgraded = await db.OpenAsync(); // Schema=Auto installs this version's
        await using var transaction = await upgraded.BeginTransactionAsync();
        await Execute(upgraded, "UPDATE orders SET amount = 9 WHERE id = 100");
        await Execute(upgraded, "UPDATE accounts SET balance = 1 WHERE id = 1");
        await transaction.CommitAsync();
        Assert.Single((await CommitRecordAsync(db, transaction.TransactionId)).Participants.Single(p => p.Participant == "shop").Writes);
    }

    [Fact]
    public async Task A_postgres_write_that_changed_no_row_is_prepared_with_its_transaction_and_leaves_nothing_prepared()
    {
        // A participant that ran a write is prepared in the round trip that takes its writes,
        // whether or not the write found a row; it is then decided like any other.
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        Assert.Equal(5L, Convert.ToInt64(await Scalar(connection, "SELECT amount FROM orders WHERE id = 100")));
        await Execute(connection, "UPDATE orders SET amount = 1 WHERE id = -1");
        await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 1");
        await transaction.CommitAsync();

        var shop = (await CommitRecordAsync(db, transaction.TransactionId)).Participants.Single(p => p.Participant == "shop");
        Assert.Empty(shop.Writes);
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.Equal(1L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    internal static async Task<LogRecord> CommitRecordAsync(TwoDatabases db, string transactionId)
    {
        // Read-only: the test's runtime holds the log.
        await using var log = EmbeddedCommitLog.OpenReadOnly(db.LogPath);
        await foreach (var logged in log.ReadFromAsync(LogPosition.Start))
        {
            if (logged.Record.Kind == LogRecordKind.Commit && logged.Record.TransactionId.ToString() == transactionId)
            {
                return logged.Record;
            }
        }

        throw new InvalidOperationException($"no commit record for {transactionId}");
    }
}
