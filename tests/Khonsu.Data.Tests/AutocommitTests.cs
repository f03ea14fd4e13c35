using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics;
using Khonsu.Engine.Diagnostics;
using Khonsu.Testing;
using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

/// <summary>
/// Statements run with no transaction in progress: one that writes rows is a Khonsu transaction of
/// its own, committed when it ends (a reader: when it is closed) and rolled back when it fails;
/// DDL and reads run as before. (The anomalies it prevents: Serializability/AutocommitAnomalyTests.)
/// </summary>
public class AutocommitTests
{
    [Fact]
    public async Task A_failed_statement_leaves_nothing_behind_and_the_connection_goes_on()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        // Two statements in one text: the second fails, so the first is rolled back with it.
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => Execute(connection, "INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 1); INSERT INTO accounts (id, owner, balance) VALUES (1, 'dup', 0)"));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7), (100, 1, 5)"));

        Assert.Null(connection.CurrentTransaction);
        Assert.Equal(2L, await db.SqliteScalarAsync("SELECT count(*) FROM accounts"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"));
        Assert.Equal(1, await Execute(connection, "INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 1)"));
        Assert.Equal(1, await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7)"));
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "UPDATE orders SET amount = 8 WHERE id = 101");
            await transaction.CommitAsync();
        }

        Assert.Equal((3L, 8), (await db.SqliteScalarAsync("SELECT count(*) FROM accounts"), await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101")));
    }

    [Theory]
    [InlineData("INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7) RETURNING id", "shop")]
    [InlineData("INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 1) RETURNING id", "ledger")]
    public async Task A_write_read_through_a_reader_commits_when_the_reader_is_disposed(string sql, string backend)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        Func<Task<object?>> rows = backend == "shop"
            ? () => db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 101")
            : () => db.SqliteScalarAsync("SELECT count(*) FROM accounts WHERE id = 3");

        await using (var command = new KhonsuCommand(sql, connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(backend == "shop" ? 101L : 3L, Convert.ToInt64(reader.GetValue(0)));
            Assert.Equal(0L, await rows()); // not committed while the statement's reader is open
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => connection.BeginTransactionAsync().AsTask());
            Assert.Contains("close the reader", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1L, await rows());
        Assert.Null(connection.CurrentTransaction);
    }

    [Theory]
    [InlineData("INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7) RETURNING id", "shop")]
    [InlineData("INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 1) RETURNING id", "ledger")]
    public async Task Closing_the_connection_under_an_open_reader_rolls_its_write_back_and_the_reader_then_closes_quietly(string sql, string backend)
    {
        await using var db = await TwoDatabases.CreateAsync();
        var connection = await db.OpenAsync();
        await using var command = new KhonsuCommand(sql, connection);
        var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());

        await connection.CloseAsync();
        await reader.DisposeAsync();

        Assert.Null(connection.CurrentTransaction);
        Assert.Equal(0L, backend == "shop"
            ? await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 101")
            : await db.SqliteScalarAsync("SELECT count(*) FROM accounts WHERE id = 3"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"));
        await connection.OpenAsync();
        Assert.Equal(1, await Execute(connection, sql.Replace(" RETURNING id", string.Empty, StringComparison.Ordinal)));
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task A_write_through_a_batch_commits_each_statement_on_its_own()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var batch = connection.CreateBatch();
        batch.BatchCommands.Add(new KhonsuBatchCommand("INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7)"));
        batch.BatchCommands.Add(new KhonsuBatchCommand("INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 1)"));
        batch.BatchCommands.Add(new KhonsuBatchCommand("INSERT INTO orders (id, account_id, amount) VALUES (100, 1, 5)")); // a duplicate key

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => batch.ExecuteNonQueryAsync());

        Assert.Equal((2L, 3L), (await db.PostgresScalarAsync("SELECT count(*) FROM orders"), await db.SqliteScalarAsync("SELECT count(*) FROM accounts")));
        Assert.Null(connection.CurrentTransaction);
    }

    [Theory]
    [InlineData("CREATE INDEX CONCURRENTLY orders_by_amount ON orders (amount)")] // refused inside a transaction block
    [InlineData("VACUUM")] // SQLite refuses it inside a transaction too
    [InlineData("SELECT count(*) FROM orders")]
    [InlineData("SELECT count(*) FROM accounts")]
    [InlineData("CREATE TABLE notes (id INTEGER PRIMARY KEY)")]
    [InlineData("BEGIN; INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7); COMMIT")] // its own transaction, as written
    public async Task DDL_reads_and_text_with_its_own_BEGIN_run_as_before_with_no_transaction_of_their_own(string sql)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        using var commits = new CommitSpans();

        await Execute(connection, sql);

        Assert.Empty(commits.Seen);
        Assert.Null(connection.CurrentTransaction);
    }

    [Theory]
    [InlineData("INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7)")]
    [InlineData("UPDATE accounts SET balance = 90 WHERE id = 1")]
    public async Task An_autocommit_write_is_a_one_backend_transaction_as_an_explicit_one_is_with_no_log_record(string sql)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        using var commits = new CommitSpans();

        await Execute(connection, sql);
        await using (var explicitly = await connection.BeginTransactionAsync())
        {
            await Execute(connection, sql.Replace("101", "102", StringComparison.Ordinal).Replace("90", "80", StringComparison.Ordinal));
            await explicitly.CommitAsync();
        }

        Assert.Collection(
            commits.Seen,
            implicitly => Assert.Equal((1, "committed"), ((int)implicitly.GetTagItem("khonsu.participants")!, (string)implicitly.GetTagItem("khonsu.outcome")!)),
            explicitly => Assert.Equal((1, "committed"), ((int)explicitly.GetTagItem("khonsu.participants")!, (string)explicitly.GetTagItem("khonsu.outcome")!)));
        foreach (var commit in commits.Seen)
        {
            // One backend commits in one phase: its COMMIT is the commit point, so no record.
            Assert.Empty(await db.TransactionLogAsync((string)commit.GetTagItem("khonsu.transaction_id")!));
        }
    }

    [Fact]
    public async Task With_Autocommit_Direct_a_write_runs_straight_on_its_backend()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Autocommit=Direct");
        using var commits = new CommitSpans();

        Assert.Equal(1, await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7)"));

        Assert.Empty(commits.Seen);
        Assert.Equal(2L, await db.PostgresScalarAsync("SELECT count(*) FROM orders"));
    }

    [Fact]
    public async Task A_COMMIT_that_gets_no_answer_is_an_unknown_outcome_and_not_a_transient_error()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var server = new Npgsql.NpgsqlConnectionStringBuilder(db.Postgres.ConnectionString);
        await using var proxy = new TcpRelay(server.Host!, server.Port);
        var proxied = new Npgsql.NpgsqlConnectionStringBuilder(db.Postgres.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false }.ConnectionString;
        var connectionString = $"Khonsu:Postgres.shop=\"{proxied}\";Log=\"{db.LogPath}\";RecoveryInterval=0";
        try
        {
            await using var connection = new KhonsuConnection(connectionString);
            await connection.OpenAsync();
            connection.Runtime.Coordinator.StepObserver = (step, _) =>
            {
                if (step == Engine.Coordination.CommitStep.AfterAllPrepared)
                {
                    proxy.DropReplies(); // the COMMIT that follows runs, its answer is lost
                }

                return ValueTask.CompletedTask;
            };

            var unknown = await Assert.ThrowsAsync<KhonsuException>(() => Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (101, 1, 7)"));

            Assert.Equal("08007", unknown.SqlState);
            Assert.False(unknown.IsTransient); // a retry policy must not run it again: it did commit
            Assert.Contains("Check whether its writes are there", unknown.Message, StringComparison.Ordinal);
            Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 101"));
            connection.Runtime.Coordinator.StepObserver = null;
            proxy.RelayReplies();
            Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 8 WHERE id = 101"));
            Assert.Null(connection.CurrentTransaction);
        }
        finally
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
        }
    }

    /// <summary>The khonsu.commit spans started under this test's own parent span (tests run in parallel).</summary>
    private sealed class CommitSpans : IDisposable
    {
        private readonly Activity _parent = new Activity("autocommit-test").Start();
        private readonly ConcurrentQueue<Activity> _seen = new();
        private readonly ActivityListener _listener;

        public CommitSpans()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == KhonsuTelemetry.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.OperationName == "khonsu.commit" && activity.ParentId == _parent.Id)
                    {
                        _seen.Enqueue(activity);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public IReadOnlyList<Activity> Seen => [.. _seen];

        public void Dispose()
        {
            _listener.Dispose();
            _parent.Stop();
        }
    }
}
