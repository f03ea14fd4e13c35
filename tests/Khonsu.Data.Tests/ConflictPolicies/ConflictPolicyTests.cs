using Khonsu.Engine.Coordination;
using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests.ConflictPolicies;

/// <summary>
/// Write-write conflict policies on real databases: the transaction under test (T1) takes its
/// PostgreSQL snapshot, a second Khonsu connection (T2) commits a write to order 100, then T1
/// writes the same row, so PostgreSQL reports the conflict on T1's statement. The order of steps
/// is the order of the awaits: no timing is involved.
/// </summary>
public class ConflictPolicyTests
{
    [Theory]
    [InlineData("")]
    [InlineData(";Conflict.orders=Fail")]
    public async Task Fail_aborts_the_transaction_with_a_serialization_failure(string extra)
    {
        await using var db = await TwoDatabases.CreateAsync();
        var (connection, transaction) = await AfterConcurrentCommitAsync(db, extra);
        await using var owned = connection;
        await using var ownedTransaction = transaction; // rolled back unless the test commits it

        var error = await Assert.ThrowsAsync<KhonsuException>(() => Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));

        Assert.Equal("40001", error.SqlState);
        Assert.True(error.IsTransient);
        await transaction.RollbackAsync();
        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Ignore_keeps_the_committed_row_and_commits_the_rest_on_both_backends()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var (connection, transaction) = await AfterConcurrentCommitAsync(db, ";Conflict.orders=Ignore");
        await using var owned = connection;
        await using var ownedTransaction = transaction; // rolled back unless the test commits it

        Assert.Equal(1, await Execute(connection, "UPDATE accounts SET balance = 90 WHERE id = 1"));
        Assert.Equal(1, await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 10)"));
        Assert.Equal(0, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));
        await transaction.CommitAsync();

        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(10, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Equal(90L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task Replace_lands_this_write_over_the_committed_row_and_commits_atomically()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var (connection, transaction) = await AfterConcurrentCommitAsync(db, ";Conflict.orders=Replace");
        await using var owned = connection;
        await using var ownedTransaction = transaction; // rolled back unless the test commits it

        Assert.Equal(1, await Execute(connection, "UPDATE accounts SET balance = 90 WHERE id = 1"));
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));

        // Later writes to the table follow the replaced row to the branch (else they would wait on its lock).
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = amount + 1 WHERE id = 100"));
        await transaction.CommitAsync();

        Assert.Equal(10, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(90L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], await db.TransactionLogAsync(transaction.TransactionId));
    }

    [Fact]
    public async Task Replace_alone_on_PostgreSQL_commits_both_local_transactions()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var (connection, transaction) = await AfterConcurrentCommitAsync(db, ";Conflict.orders=Replace");
        await using var owned = connection;
        await using var ownedTransaction = transaction; // rolled back unless the test commits it

        Assert.Equal(1, await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 10)"));
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));
        await transaction.CommitAsync();

        Assert.Equal(9, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(10, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    /// <summary>
    /// T1 began on SQLite before T2 committed on PostgreSQL, and took its PostgreSQL snapshot after:
    /// it overwrote T2's committed row knowingly, which orders T2 before it, so there is no conflict
    /// for a policy to resolve (the certifier knows what each backend's snapshot saw). With one
    /// snapshot for the whole transaction it used to be refused under Fail.
    /// </summary>
    [Theory]
    [InlineData(";Conflict.orders=Fail", true)]
    [InlineData(";Conflict.orders=Replace", true)]
    public async Task A_write_over_a_commit_its_backend_snapshot_saw_commits_under_any_policy(string extra, bool commits)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(extra);
        await using var transaction = await connection.BeginTransactionAsync();
        Assert.Equal(1, await Execute(connection, "UPDATE accounts SET balance = 90 WHERE id = 1"));
        await CommitConcurrentlyAsync(db, extra, "UPDATE orders SET amount = 7 WHERE id = 100");
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));

        if (commits)
        {
            await transaction.CommitAsync();
            Assert.Equal(9, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        }
        else
        {
            var error = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());
            Assert.Equal("40001", error.SqlState);
            Assert.Contains("write-write conflict", error.Message, StringComparison.Ordinal);
            Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        }
    }

    [Fact]
    public async Task A_crash_after_the_decision_leaves_the_branch_prepared_for_recovery_to_commit()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var (connection, transaction) = await AfterConcurrentCommitAsync(db, ";Conflict.orders=Replace");
        await using var owned = connection;
        Assert.Equal(1, await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 10)"));
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));

        var coordinator = connection.Runtime.Coordinator;
        coordinator.StepObserver = (step, _) => step == CommitStep.AfterDecisionLogged ? throw new InvalidOperationException("crash") : ValueTask.CompletedTask;
        try
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => transaction.CommitAsync());
        }
        finally
        {
            coordinator.StepObserver = null;
        }

        var gids = await db.PostgresScalarAsync("SELECT string_agg(gid, ',' ORDER BY gid) FROM pg_prepared_xacts WHERE database = current_database()");
        var gid = $"khonsu:{connection.Runtime.Log.Identity.Tag}:{transaction.TransactionId}";
        Assert.Equal($"{gid},{gid}/r", gids);
        var resource = connection.Runtime.Backends.Single(b => b.Name == "shop").CreateRecoveryResource();
        var prepared = Assert.Single(await resource.ListPreparedAsync(CancellationToken.None));
        Assert.Equal(transaction.TransactionId, prepared.TransactionId.ToString());

        await connection.RecoverAsync();

        Assert.Equal(9, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(10, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task A_rollback_undoes_the_branch_too()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var (connection, transaction) = await AfterConcurrentCommitAsync(db, ";Conflict.orders=Replace");
        await using var owned = connection;
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));
        await transaction.RollbackAsync();

        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()"));
        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Savepoints_cover_the_branch()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var (connection, transaction) = await AfterConcurrentCommitAsync(db, ";Conflict.orders=Replace");
        await using var owned = connection;
        await using var ownedTransaction = transaction;

        // Taken before the branch existed: rolling back to it undoes the whole branch.
        await transaction.SaveAsync("before");
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));
        await transaction.RollbackAsync("before");

        // Taken on the branch too: rolling back to it undoes only what came after.
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 11 WHERE id = 100"));
        await transaction.SaveAsync("after");
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = amount + 1 WHERE id = 100"));
        await transaction.RollbackAsync("after");
        await transaction.ReleaseAsync("after");
        await transaction.CommitAsync();

        Assert.Equal(11, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    /// <summary>
    /// T1 on a new connection with its PostgreSQL snapshot taken, then T2's write of order 100
    /// (amount 7) committed: T1's next write of that row meets the conflict on its statement.
    /// </summary>
    /// <summary>T1 open with its PostgreSQL snapshot taken, after T2 committed <paramref name="sql"/>.</summary>
    internal static async Task<(KhonsuConnection Connection, KhonsuTransaction Transaction)> AfterConcurrentCommitAsync(
        TwoDatabases db, string extra, string sql = "UPDATE orders SET amount = 7 WHERE id = 100")
    {
        var connection = await db.OpenAsync(extra);
        var transaction = await connection.BeginTransactionAsync();
        await TakePostgresSnapshotAsync(connection);
        await CommitConcurrentlyAsync(db, extra, sql);
        return (connection, transaction);
    }

    /// <summary>PostgreSQL's first statement of the transaction takes its snapshot (a table read: no row to validate later).</summary>
    internal static async Task TakePostgresSnapshotAsync(KhonsuConnection connection)
        => Assert.NotNull(await Scalar(connection, "SELECT count(*) FROM orders"));

    /// <summary>T2: a Khonsu transaction on another connection, committed (so certified) before T1 goes on.</summary>
    internal static async Task CommitConcurrentlyAsync(TwoDatabases db, string extra, string sql)
    {
        await using var other = await db.OpenAsync(extra);
        await using var transaction = await other.BeginTransactionAsync();
        Assert.Equal(1, await Execute(other, sql));
        await transaction.CommitAsync();
    }
}
