using System.Collections.Concurrent;
using Khonsu.TestSupport;
using static Khonsu.Data.Tests.AtomicCommitTests;
using static Khonsu.Data.Tests.ConflictPolicies.ConflictHandlerTests;
using static Khonsu.Data.Tests.ConflictPolicies.ConflictPolicyTests;

namespace Khonsu.Data.Tests;

/// <summary>
/// Each data source keeps what it was given in code (logger factory, write-conflict handler) and
/// its own hold on the runtime it shares with the other data sources and the bare connections of
/// its connection string: one of them disposed or cleared takes nothing from the others.
/// </summary>
public class DataSourceIsolationTests
{
    private const int CommittedEvent = 1001;
    private const int RecoveredEvent = 1010;

    [Fact]
    public async Task Two_data_sources_of_one_connection_string_log_to_their_own_logger_factory()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var mine = new CapturingLoggerProvider();
        var theirs = new CapturingLoggerProvider();
        await using var first = KhonsuDataSource.Create(db.ConnectionString(), mine.Factory());
        await using var second = KhonsuDataSource.Create(db.ConnectionString(), theirs.Factory());

        var firstCommit = await TransferAsync(first, 1);
        var secondCommit = await TransferAsync(second, 2);

        Assert.Contains(firstCommit, Assert.Single(mine.Lines, l => l.EventId == CommittedEvent).Message, StringComparison.Ordinal);
        Assert.Contains(secondCommit, Assert.Single(theirs.Lines, l => l.EventId == CommittedEvent).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_data_sources_of_one_connection_string_resolve_conflicts_with_their_own_handler()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var mine = new ConcurrentQueue<string>();
        var theirs = new ConcurrentQueue<string>();
        await using var first = Builder(db).OnWriteConflict(Recorder(mine)).Build();
        await using var second = Builder(db).OnWriteConflict(Recorder(theirs)).Build();
        Assert.Equal(first.ConnectionString, second.ConnectionString);

        await MeetConflictAsync(first, "UPDATE orders SET amount = 9 WHERE id = 100");
        await MeetConflictAsync(second, "UPDATE orders SET amount = 8 WHERE id = 100");

        Assert.Equal(["UPDATE orders SET amount = 9 WHERE id = 100"], mine);
        Assert.Equal(["UPDATE orders SET amount = 8 WHERE id = 100"], theirs);
    }

    [Fact]
    public async Task A_connection_keeps_its_data_sources_logger_when_another_of_its_string_comes_and_goes()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var mine = new CapturingLoggerProvider();
        await using var source = KhonsuDataSource.Create(db.ConnectionString(), mine.Factory());
        await using var connection = source.CreateConnection();
        await using (KhonsuDataSource.Create(db.ConnectionString(), new CapturingLoggerProvider().Factory()))
        {
        }

        connection.ConnectionString = db.ConnectionString(); // the same string: still the data source's connection
        await connection.OpenAsync();
        var committed = await TransferAsync(connection, 1);

        Assert.Contains(committed, Assert.Single(mine.Lines, l => l.EventId == CommittedEvent).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disposing_a_data_source_leaves_the_other_data_sources_of_its_string_working()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var first = KhonsuDataSource.Create(db.ConnectionString());
        await using var second = KhonsuDataSource.Create(db.ConnectionString());
        await using var theirs = await second.OpenConnectionAsync();
        await TransferAsync(first, 1);

        await first.DisposeAsync();

        await TransferAsync(theirs, 2);
        await using var later = await second.OpenConnectionAsync();
        Assert.Same(theirs.Runtime, later.Runtime);
        await TransferAsync(later, 3);
        Assert.Equal(94L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task A_disposed_data_sources_open_connection_keeps_working_and_lets_the_log_go_when_it_closes()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var source = KhonsuDataSource.Create(db.ConnectionString());
        await using var connection = await source.OpenConnectionAsync();

        await source.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => source.CreateConnection());
        await TransferAsync(connection, 1);
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => db.OpenAsync(";LockTimeout=1"));
        Assert.Equal("55006", refused.SqlState);

        await connection.CloseAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => connection.OpenAsync());
        await using var next = await db.OpenAsync(";LockTimeout=1"); // the log is free: the runtime closed with the last connection
        Assert.Equal(99L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task Bare_connections_share_their_strings_runtime_and_clearing_them_leaves_a_data_source_its_own()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var source = KhonsuDataSource.Create(db.ConnectionString());
        await using var sourced = await source.OpenConnectionAsync();
        await using (var bare = await db.OpenAsync())
        await using (var another = await db.OpenAsync())
        {
            Assert.Same(bare.Runtime, another.Runtime);
            Assert.Same(sourced.Runtime, bare.Runtime); // one runtime per embedded log in a process
        }

        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(db.ConnectionString()));

        await TransferAsync(sourced, 1);
        await using var afterClear = await db.OpenAsync();
        Assert.Same(sourced.Runtime, afterClear.Runtime);
        await TransferAsync(afterClear, 2);
        Assert.Equal(97L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task The_runtimes_own_events_reach_each_logger_factory_holding_it_once_and_stop_when_it_lets_go()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var connectionString = db.ConnectionString(";PrepareLease=0.001");
        var mine = new CapturingLoggerProvider();
        var theirs = new CapturingLoggerProvider();
        var mineFactory = mine.Factory();
        await using var first = KhonsuDataSource.Create(connectionString, mineFactory);
        await using var twin = KhonsuDataSource.Create(connectionString, mineFactory); // one factory, two holders: each line once
        var second = KhonsuDataSource.Create(connectionString, theirs.Factory());
        await using var connection = await first.OpenConnectionAsync();
        await using (await twin.OpenConnectionAsync())
        await using (await second.OpenConnectionAsync())
        {
        }

        await StrandPreparedAsync(db, connection, 500);
        Assert.Equal(1, await connection.RecoverAsync());
        Assert.Single(mine.Lines, l => l.EventId == RecoveredEvent);
        Assert.Single(theirs.Lines, l => l.EventId == RecoveredEvent);

        await second.DisposeAsync();
        await StrandPreparedAsync(db, connection, 501);
        Assert.Equal(1, await connection.RecoverAsync());
        Assert.Equal(2, mine.Lines.Count(l => l.EventId == RecoveredEvent));
        Assert.Single(theirs.Lines, l => l.EventId == RecoveredEvent);
    }

    /// <summary>A participant left prepared by a coordinator that died before logging a decision: recovery aborts it.</summary>
    private static Task StrandPreparedAsync(TwoDatabases db, KhonsuConnection connection, int order)
        => db.PostgresAsync(
            $"BEGIN; INSERT INTO orders (id, account_id, amount) VALUES ({order}, 1, 1); PREPARE TRANSACTION 'khonsu:{connection.Runtime.Log.Identity.Tag}:{Khonsu.Engine.TransactionId.New()}'");

    private static Func<KhonsuWriteConflict, KhonsuConflictPolicy> Recorder(ConcurrentQueue<string> statements)
        => conflict =>
        {
            statements.Enqueue(conflict.Statement);
            return KhonsuConflictPolicy.Ignore;
        };

    /// <summary>
    /// Runs <paramref name="sql"/> on a connection of <paramref name="source"/> after another
    /// connection of it committed the same row since the transaction's snapshot: a write-write
    /// conflict, which the Ignore the handlers choose skips.
    /// </summary>
    private static async Task MeetConflictAsync(KhonsuDataSource source, string sql)
    {
        await using var connection = await source.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await TakePostgresSnapshotAsync(connection);
        await using (var other = await source.OpenConnectionAsync())
        {
            Assert.Equal(1, await Execute(other, "UPDATE orders SET amount = amount + 1 WHERE id = 100"));
        }

        Assert.Equal(0, await Execute(connection, sql));
        await transaction.CommitAsync();
    }

    private static async Task<string> TransferAsync(KhonsuDataSource source, int amount)
    {
        await using var connection = await source.OpenConnectionAsync();
        return await TransferAsync(connection, amount);
    }

    /// <summary>Moves <paramref name="amount"/> from ada's account (SQLite) to her order (PostgreSQL) in one transaction; its id.</summary>
    private static async Task<string> TransferAsync(KhonsuConnection connection, int amount)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        Assert.Equal(1, await Execute(connection, $"UPDATE accounts SET balance = balance - {amount} WHERE id = 1"));
        Assert.Equal(1, await Execute(connection, $"UPDATE orders SET amount = amount + {amount} WHERE id = 100"));
        await transaction.CommitAsync();
        return transaction.TransactionId;
    }
}
