using System.Transactions;
using Dapper;
using TransactionAbortedException = System.Transactions.TransactionAbortedException;
using Khonsu.TestSupport;

namespace Khonsu.Data.Tests;

/// <summary>
/// System.Transactions: a Khonsu connection opened inside a TransactionScope enlists in it, as a
/// Npgsql connection does, and the scope commits or rolls back across SQLite and PostgreSQL as one
/// Khonsu transaction. Dapper does the writes, as application code would. A process killed while
/// its scope commits: CrashRecoveryTests.
/// </summary>
public class TransactionScopeTests
{
    private const string Debit = "UPDATE accounts SET balance = balance - 10 WHERE id = 1";
    private const string Order = "INSERT INTO orders (id, account_id, amount) VALUES (@id, 1, 10)";

    [Fact]
    public async Task A_completed_scope_commits_both_databases_and_logs_one_transaction()
    {
        await using var db = await TwoDatabases.CreateAsync();
        using (var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var connection = await db.OpenAsync();
            await connection.ExecuteAsync(Debit);
            await connection.ExecuteAsync(Order, new { id = 1 });
            scope.Complete();
        }

        Assert.Equal((90L, 1L), await StateAsync(db));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        await using var log = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db.LogPath};Mode=ReadOnly;Pooling=False");
        await log.OpenAsync();
        Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], (await log.QueryAsync<string>("SELECT participant || ':' || status || ':' || decision FROM transaction_log ORDER BY participant")).ToList());
    }

    [Fact]
    public async Task The_same_with_synchronous_calls_and_no_async_flow_commits_and_rolls_back()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var connectionString = db.ConnectionString();
        using (var scope = new TransactionScope())
        {
            using var connection = new KhonsuConnection(connectionString);
            connection.Open();
            connection.Execute(Debit);
            connection.Execute(Order, new { id = 1 });
            scope.Complete();
        }

        Assert.Equal((90L, 1L), await StateAsync(db));

        using (new TransactionScope()) // not completed
        {
            using var connection = new KhonsuConnection(connectionString);
            connection.Open();
            connection.Execute(Debit);
            connection.Execute(Order, new { id = 2 });
        }

        Assert.Equal((90L, 1L), await StateAsync(db));
        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
    }

    [Fact]
    public async Task A_scope_disposed_without_Complete_rolls_both_databases_back()
    {
        await using var db = await TwoDatabases.CreateAsync();
        using (new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var connection = await db.OpenAsync();
            await connection.ExecuteAsync(Debit);
            await connection.ExecuteAsync(Order, new { id = 1 });
        }

        Assert.Equal((100L, 0L), await StateAsync(db));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task A_scope_left_by_an_exception_rolls_both_databases_back()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            using var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled);
            await using var connection = await db.OpenAsync();
            await connection.ExecuteAsync(Debit);
            await connection.ExecuteAsync(Order, new { id = 1 });
            throw new InvalidOperationException("the application failed half-way");
        });

        Assert.Equal("the application failed half-way", thrown.Message);
        Assert.Equal((100L, 0L), await StateAsync(db));
    }

    [Fact]
    public async Task A_second_connection_opened_in_the_scope_joins_the_same_transaction_and_sees_its_writes()
    {
        await using var db = await TwoDatabases.CreateAsync();
        using (var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
        {
            await using (var first = await db.OpenAsync())
            {
                await first.ExecuteAsync(Debit);
            }

            await using var second = await db.OpenAsync();
            Assert.Equal(90L, await second.ExecuteScalarAsync<long>("SELECT balance FROM accounts WHERE id = 1"));
            await second.ExecuteAsync(Order, new { id = 1 });

            // Outside the scope's transaction, nothing of it shows yet.
            Assert.Equal((100L, 0L), await StateAsync(db));
            scope.Complete();
        }

        Assert.Equal((90L, 1L), await StateAsync(db));
    }

    [Fact]
    public async Task Nested_scopes_Required_joins_RequiresNew_commits_on_its_own_and_Suppress_runs_outside()
    {
        await using var db = await TwoDatabases.CreateAsync();
        using (new TransactionScope(TransactionScopeAsyncFlowOption.Enabled)) // never completed: rolls back
        {
            await using (var outer = await db.OpenAsync())
            {
                await outer.ExecuteAsync(Debit);
            }

            using (var required = new TransactionScope(TransactionScopeOption.Required, TransactionScopeAsyncFlowOption.Enabled))
            {
                await using var joined = await db.OpenAsync();
                await joined.ExecuteAsync(Order, new { id = 1 });
                required.Complete(); // the outer scope still decides
            }

            using (var requiresNew = new TransactionScope(TransactionScopeOption.RequiresNew, TransactionScopeAsyncFlowOption.Enabled))
            {
                await using var independent = await db.OpenAsync();
                await independent.ExecuteAsync(Order, new { id = 2 });
                requiresNew.Complete();
            }

            using (new TransactionScope(TransactionScopeOption.Suppress, TransactionScopeAsyncFlowOption.Enabled))
            {
                await using var outside = await db.OpenAsync();
                await outside.ExecuteAsync(Order, new { id = 3 }); // autocommits
            }
        }

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal("2,3", await db.PostgresScalarAsync("SELECT string_agg(id::text, ',' ORDER BY id) FROM orders WHERE id < 100"));
    }

    [Fact]
    public async Task A_scope_that_times_out_rolls_back_refuses_further_statements_and_throws_on_Dispose()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var disposed = await Assert.ThrowsAsync<TransactionAbortedException>(async () =>
        {
            using var scope = new TransactionScope(TransactionScopeOption.Required, TimeSpan.FromSeconds(10), TransactionScopeAsyncFlowOption.Enabled); // long enough for the work before it, even on a loaded machine
            Transaction.Current!.TransactionCompleted += (_, _) => aborted.TrySetResult();
            await using var connection = await db.OpenAsync();
            await connection.ExecuteAsync(Debit);
            await connection.ExecuteAsync(Order, new { id = 1 });
            await aborted.Task; // the scope's timer aborts the transaction

            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ExecuteAsync(Order, new { id = 2 }));
            Assert.Contains("TransactionScope", refused.Message, StringComparison.Ordinal);
            scope.Complete();
        });

        Assert.IsType<TransactionAbortedException>(disposed);
        Assert.Equal((100L, 0L), await StateAsync(db));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task EnlistTransaction_enlists_a_connection_opened_outside_the_scope()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        using (new TransactionScope(TransactionScopeAsyncFlowOption.Enabled)) // not completed
        {
            connection.EnlistTransaction(Transaction.Current);
            await connection.ExecuteAsync(Debit);
            await connection.ExecuteAsync(Order, new { id = 1 });
        }

        Assert.Equal((100L, 0L), await StateAsync(db));

        // Once the scope is over, the connection runs on its own again.
        await connection.ExecuteAsync(Order, new { id = 2 });
        Assert.Equal((100L, 1L), await StateAsync(db));
    }

    [Fact]
    public async Task With_Enlist_false_a_connection_opened_in_a_scope_stays_out_of_it()
    {
        await using var db = await TwoDatabases.CreateAsync();
        using (new TransactionScope(TransactionScopeAsyncFlowOption.Enabled)) // not completed
        {
            await using var connection = await db.OpenAsync(";Enlist=false");
            await connection.ExecuteAsync(Debit); // autocommits, whatever the scope does
            await connection.ExecuteAsync(Order, new { id = 1 });
        }

        Assert.Equal((90L, 1L), await StateAsync(db));
    }

    [Fact]
    public async Task A_connection_enlisted_in_a_scope_cannot_begin_a_transaction_of_its_own()
    {
        await using var db = await TwoDatabases.CreateAsync();
        using var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled);
        await using var connection = await db.OpenAsync();
        var refused = Assert.Throws<InvalidOperationException>(() => connection.BeginTransaction());
        Assert.Contains("TransactionScope", refused.Message, StringComparison.Ordinal);
    }

    private static async Task<(long Balance, long Orders)> StateAsync(TwoDatabases db) =>
        ((long)(await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"))!,
         (long)(await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id < 100"))!);
}
