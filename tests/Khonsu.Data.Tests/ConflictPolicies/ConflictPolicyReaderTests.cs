using System.Data.Common;
using static Khonsu.Data.Tests.AtomicCommitTests;
using static Khonsu.Data.Tests.ConflictPolicies.ConflictPolicyTests;

namespace Khonsu.Data.Tests.ConflictPolicies;

/// <summary>
/// Conflict policies on statements run through a reader (a write with RETURNING, a batch):
/// PostgreSQL reports the conflict before the first row, so the policy still resolves it. T1 took
/// its PostgreSQL snapshot; T2 then committed amount 7 on order 100; T1 writes that row.
/// </summary>
public class ConflictPolicyReaderTests
{
    private const string UpdateReturning = "UPDATE orders SET amount = 9 WHERE id = 100 RETURNING id, amount";

    [Theory]
    [InlineData("")]
    [InlineData(";Conflict.orders=Fail")]
    public async Task Fail_through_a_reader_is_a_serialization_failure(string extra)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(extra);
        await using var transaction = await BeginAfterConcurrentCommitAsync(db, connection, extra);

        var error = await Assert.ThrowsAsync<KhonsuException>(() => ReadAllAsync(connection, UpdateReturning));

        Assert.Equal("40001", error.SqlState);
        await transaction.RollbackAsync();
        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Ignore_through_a_reader_returns_no_row_and_the_transaction_commits()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Conflict.orders=Ignore");
        await using var transaction = await BeginAfterConcurrentCommitAsync(db, connection, ";Conflict.orders=Ignore");
        Assert.Equal(1, await Execute(connection, "UPDATE accounts SET balance = 90 WHERE id = 1"));

        var (rows, affected) = await ReadAllAsync(connection, UpdateReturning);

        Assert.Empty(rows);
        Assert.Equal(0, affected);
        await transaction.CommitAsync();
        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(90L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task Replace_through_a_reader_returns_the_replaced_row_and_commits_it()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Conflict.orders=Replace");
        await using var transaction = await BeginAfterConcurrentCommitAsync(db, connection, ";Conflict.orders=Replace");
        Assert.Equal(1, await Execute(connection, "UPDATE accounts SET balance = 90 WHERE id = 1"));

        var (rows, affected) = await ReadAllAsync(connection, UpdateReturning);

        Assert.Equal(["100:9"], rows);
        Assert.Equal(1, affected);
        await transaction.CommitAsync();
        Assert.Equal(9, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(90L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], await db.TransactionLogAsync(transaction.TransactionId));
    }

    [Fact]
    public async Task A_reader_under_a_policy_without_a_conflict_returns_every_row_once()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Conflict.orders=Replace");
        await using var transaction = await connection.BeginTransactionAsync();

        // The first row is read ahead to meet a conflict early; the caller still sees it first.
        var (rows, affected) = await ReadAllAsync(connection, "INSERT INTO orders (id, account_id, amount) VALUES (201, 1, 1), (202, 1, 2) RETURNING id, amount");

        Assert.Equal(["201:1", "202:2"], rows);
        Assert.Equal(2, affected);
        await transaction.CommitAsync();
        Assert.Equal(2L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id IN (201, 202)"));
    }

    [Fact]
    public async Task A_batch_statement_that_meets_a_conflict_is_resolved_by_the_policy()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Conflict.orders=Replace");
        await using var transaction = await BeginAfterConcurrentCommitAsync(db, connection, ";Conflict.orders=Replace");
        await using var batch = connection.CreateBatch();
        AddBatchCommand(batch, "UPDATE accounts SET balance = 90 WHERE id = 1");
        AddBatchCommand(batch, "UPDATE orders SET amount = amount + 5 WHERE id = 100 RETURNING amount");

        // As EF Core's SaveChanges sends it: one batch read through one reader.
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            Assert.False(await reader.ReadAsync()); // the first statement returns no row
            Assert.True(await reader.NextResultAsync());
            Assert.True(await reader.ReadAsync());
            Assert.Equal(12, reader.GetInt32(0)); // on the branch: over T2's committed 7
            Assert.False(await reader.ReadAsync());
            Assert.False(await reader.NextResultAsync());
        }

        await transaction.CommitAsync();
        Assert.Equal(12, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(90L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task The_reader_of_a_dropped_statement_says_so_when_a_column_is_read()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Conflict.orders=Ignore");
        await using var transaction = await BeginAfterConcurrentCommitAsync(db, connection, ";Conflict.orders=Ignore");
        await using var command = connection.CreateCommand();
        command.CommandText = UpdateReturning;

        await using var reader = await command.ExecuteReaderAsync();

        Assert.False(reader.HasRows);
        Assert.Equal(0, reader.FieldCount);
        var error = Assert.Throws<InvalidOperationException>(() => reader.GetInt32(0));
        Assert.Contains("Ignore", error.Message);
    }

    [Fact]
    public async Task An_autocommit_write_through_a_reader_under_Replace_commits_on_the_branch_when_the_reader_closes()
    {
        // The statement is a transaction of its own: it waits for T2's row lock, meets the
        // conflict once T2 commits, runs again on the branch, and commits when its reader closes.
        await using var db = await TwoDatabases.CreateAsync();
        // T2 runs on the same runtime (one runtime per embedded log); its own update meets no conflict.
        await using var writer = await db.OpenAsync(";Conflict.orders=Replace");
        await using var autocommit = await db.OpenAsync(";Conflict.orders=Replace");
        await using var transaction = await writer.BeginTransactionAsync();
        await Execute(writer, "UPDATE orders SET amount = 7 WHERE id = 100");

        var replaced = ReadAllAsync(autocommit, "UPDATE orders SET amount = amount + 2 WHERE id = 100 RETURNING id, amount");
        await db.UntilWaitingForLocksAsync(1, "the autocommit update to wait for T2's row lock");
        await transaction.CommitAsync();
        var (rows, affected) = await replaced;

        Assert.Equal(["100:9"], rows);
        Assert.Equal(1, affected);
        Assert.Null(autocommit.CurrentTransaction);
        Assert.Equal(9, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    private static async Task<KhonsuTransaction> BeginAfterConcurrentCommitAsync(TwoDatabases db, KhonsuConnection connection, string extra)
    {
        var transaction = await connection.BeginTransactionAsync();
        await TakePostgresSnapshotAsync(connection);
        await CommitConcurrentlyAsync(db, extra, "UPDATE orders SET amount = 7 WHERE id = 100");
        return transaction;
    }

    private static async Task<(List<string> Rows, int RecordsAffected)> ReadAllAsync(KhonsuConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var rows = new List<string>();
        DbDataReader reader = await command.ExecuteReaderAsync();
        await using (reader)
        {
            while (await reader.ReadAsync())
            {
                rows.Add($"{reader.GetInt32(0)}:{reader.GetInt32(1)}");
            }

            await reader.CloseAsync();
            return (rows, reader.RecordsAffected);
        }
    }

    private static void AddBatchCommand(DbBatch batch, string sql)
    {
        var command = batch.CreateBatchCommand();
        command.CommandText = sql;
        batch.BatchCommands.Add(command);
    }
}
