using System.Data;
using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

/// <summary>Transactions begun with BeginReadOnlyTransaction: reads commit without a log record, writes fail with 25006.</summary>
public class ReadOnlyTransactionTests
{
    [Fact]
    public async Task A_read_only_transaction_reads_both_backends_and_commits_without_a_log_record()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginReadOnlyTransactionAsync();

        Assert.True(transaction.IsReadOnly);
        Assert.Equal(IsolationLevel.Serializable, transaction.IsolationLevel);
        Assert.Equal(100L, await Scalar(connection, "SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(5, await Scalar(connection, "SELECT amount FROM orders WHERE id = 100"));
        await transaction.CommitAsync();

        Assert.Empty(await db.TransactionLogAsync(transaction.TransactionId));
    }

    [Theory]
    [InlineData("UPDATE accounts SET balance = 0 WHERE id = 1", "UPDATE", "ledger")]
    [InlineData("insert into orders values (101, 2, 7)", "INSERT", "shop")]
    [InlineData("DELETE FROM orders WHERE id = 100", "DELETE", "shop")]
    [InlineData("CREATE TABLE notes (id integer PRIMARY KEY)", "CREATE", "ledger")]
    public async Task A_statement_that_writes_fails_with_25006_before_it_runs_and_the_transaction_goes_on(string sql, string verb, string backend)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = connection.BeginReadOnlyTransaction();

        var refused = await Assert.ThrowsAsync<KhonsuException>(() => Execute(connection, sql));

        Assert.Equal("25006", refused.SqlState);
        Assert.False(refused.IsTransient);
        Assert.Equal(transaction.TransactionId, refused.TransactionId);
        Assert.Contains($"cannot execute {verb} on backend '{backend}'", refused.Message, StringComparison.Ordinal);
        Assert.Equal(100L, await Scalar(connection, "SELECT balance FROM accounts WHERE id = 1"));
        await transaction.CommitAsync();
        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders"));
    }

    [Fact]
    public async Task A_write_the_statement_text_hides_is_found_at_commit_and_rolled_back_everywhere()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE FUNCTION cancel_order(order_id integer) RETURNS integer LANGUAGE sql AS $$ UPDATE orders SET amount = 0 WHERE id = order_id RETURNING amount $$");
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginReadOnlyTransactionAsync();

        Assert.Equal(100L, await Scalar(connection, "SELECT balance FROM accounts WHERE id = 1"));
        await Scalar(connection, "SELECT cancel_order(id) FROM orders WHERE id = 100"); // a query, as far as its text goes
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());

        Assert.Equal("25006", refused.SqlState);
        Assert.Contains("declared read-only but wrote on backend 'shop'", refused.Message, StringComparison.Ordinal);
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task RunInTransactionAsync_can_run_read_only_attempts()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        var readOnly = await connection.RunInTransactionAsync(
            async (transaction, _) =>
            {
                await Scalar(connection, "SELECT count(*) FROM orders");
                return transaction.IsReadOnly;
            },
            new KhonsuRetryOptions { ReadOnly = true });

        Assert.True(readOnly);
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => connection.RunInTransactionAsync(
            (_, _) => Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 2"),
            new KhonsuRetryOptions { ReadOnly = true }));
        Assert.Equal("25006", refused.SqlState);
    }
}
