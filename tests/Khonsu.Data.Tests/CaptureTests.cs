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

    private static async Task<LogRecord> CommitRecordAsync(TwoDatabases db, string transactionId)
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
