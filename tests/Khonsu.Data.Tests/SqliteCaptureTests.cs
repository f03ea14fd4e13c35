using Khonsu.Engine.Commit;
using static Khonsu.Data.Tests.AtomicCommitTests;
using static Khonsu.Data.Tests.CaptureTests;

namespace Khonsu.Data.Tests;

/// <summary>
/// SQLite captures a transaction's writes in memory, per handle (no statement switches it on, reads
/// or clears it): what one transaction, a savepoint's undone work or a write outside any
/// transaction touched must never show up in another transaction's write set.
/// </summary>
public class SqliteCaptureTests
{
    [Fact]
    public async Task A_rolled_back_transaction_leaves_nothing_in_the_next_ones_writes()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using (var rolledBack = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "UPDATE accounts SET balance = 7 WHERE id = 2");
            await rolledBack.RollbackAsync();
        }

        await using (var failed = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "UPDATE accounts SET balance = 8 WHERE id = 2");
            await Assert.ThrowsAnyAsync<Exception>(() => Execute(connection, "INSERT INTO accounts (id, owner, balance) VALUES (1, 'duplicate', 0)"));
        }

        var transaction = await CommitBothAsync(connection, "UPDATE accounts SET balance = 90 WHERE id = 1");

        Assert.Equal(["1"], await LedgerKeysAsync(db, transaction));
        Assert.Equal(50L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
    }

    [Fact]
    public async Task Writes_run_with_no_transaction_are_not_captured_into_the_next_one()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Autocommit=Direct");
        await CommitBothAsync(connection, "UPDATE accounts SET balance = 89 WHERE id = 1"); // the handle's triggers are built
        await Execute(connection, "UPDATE accounts SET balance = 7 WHERE id = 2");

        var transaction = await CommitBothAsync(connection, "UPDATE accounts SET balance = 90 WHERE id = 1");

        Assert.Equal(["1"], await LedgerKeysAsync(db, transaction));
    }

    [Fact]
    public async Task Rows_written_after_a_savepoint_rolled_back_to_are_not_captured()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, "UPDATE accounts SET balance = 90 WHERE id = 1");
        await transaction.SaveAsync("Before_Two");
        await Execute(connection, "UPDATE accounts SET balance = 7 WHERE id = 2");
        await Execute(connection, "INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 10)");
        await transaction.RollbackAsync("Before_Two");
        await Execute(connection, "UPDATE accounts SET balance = 91 WHERE id = 1");
        await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
        await transaction.CommitAsync();

        Assert.Equal(["1"], await LedgerKeysAsync(db, transaction));
    }

    [Fact]
    public async Task A_table_created_after_a_handle_built_its_triggers_is_captured_on_that_handle()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await CommitBothAsync(connection, "UPDATE accounts SET balance = 90 WHERE id = 1"); // the handle's triggers are built

        await Execute(connection, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
        var transaction = await CommitBothAsync(connection, "INSERT INTO notes (id, body) VALUES (5, 'new')");

        var write = Assert.Single((await CommitRecordAsync(db, transaction.TransactionId)).Participants.Single(p => p.Participant == "ledger").Writes);
        Assert.Equal(("notes", "5", WriteKind.Insert), (write.Table, write.Key, write.Kind));
    }

    /// <summary>The SQLite write and a PostgreSQL one: two participants, so the commit record lists each one's writes.</summary>
    private static async Task<KhonsuTransaction> CommitBothAsync(KhonsuConnection connection, string sqliteWrite)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await Execute(connection, sqliteWrite);
        await Execute(connection, "UPDATE orders SET amount = amount + 1 WHERE id = 100");
        await transaction.CommitAsync();
        return transaction;
    }

    private static async Task<string[]> LedgerKeysAsync(TwoDatabases db, KhonsuTransaction transaction)
        => (await CommitRecordAsync(db, transaction.TransactionId)).Participants.Single(p => p.Participant == "ledger").Writes.Select(w => w.Key).Order().ToArray();
}
