using System.Data.Common;
using Khonsu.Data.Sqlite;
using Khonsu.TestSupport;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Tests;

/// <summary>
/// Khonsu transactions queue in the process for a SQLite file's write lock (an await, no blocked
/// thread), shared by every runtime naming the file, and give the permit back on every path.
/// </summary>
public sealed class SqliteWriteQueueTests : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly HashSet<string> _runtimes = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var connectionString in _runtimes)
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task Waiters_for_the_write_lock_await_it_instead_of_blocking_the_caller()
    {
        var path = CreateDatabase("queue.db");
        var khonsu = $"Khonsu:Sqlite:Data Source={path}";
        await using var holder = await OpenAsync(khonsu);
        var holding = await holder.BeginTransactionAsync();
        await InsertAsync(holder, holding, 1);

        var waiters = new List<Task>();
        for (var i = 0; i < 4; i++)
        {
            // The old code slept in SQLite's busy handler right here, on the caller's thread, until
            // the command timeout ran out: this call would not return for 30 s, then fail.
            waiters.Add(InsertAndCommitAsync(khonsu, 10 + i));
            Assert.False(waiters[^1].IsCompleted, $"waiter {i} returned a finished task: it waited on the caller's thread");
        }

        var queue = SqliteWriteQueue.For($"Data Source={path}");
        await Poll.UntilAsync(() => Task.FromResult(queue.Waiting == 4), TimeSpan.FromSeconds(10), "4 transactions queued for the write lock");
        await holding.CommitAsync();

        await Task.WhenAll(waiters);
        Assert.Equal(5L, await CountAsync(path));
        Assert.False(queue.IsHeld);
    }

    [Fact]
    public async Task The_permit_is_given_back_on_commit_rollback_dispose_and_a_failed_statement()
    {
        var path = CreateDatabase("paths.db");
        var khonsu = $"Khonsu:Sqlite:Data Source={path}";
        var queue = SqliteWriteQueue.For($"Data Source={path}");
        await using var connection = await OpenAsync(khonsu);

        await using (var committed = await connection.BeginTransactionAsync())
        {
            await InsertAsync(connection, committed, 1);
            Assert.True(queue.IsHeld);
            await committed.CommitAsync();
            Assert.False(queue.IsHeld, "after commit");
        }

        await using (var rolledBack = await connection.BeginTransactionAsync())
        {
            await InsertAsync(connection, rolledBack, 2);
            await rolledBack.RollbackAsync();
            Assert.False(queue.IsHeld, "after rollback");
        }

        var abandoned = await connection.BeginTransactionAsync();
        await InsertAsync(connection, abandoned, 3);
        await abandoned.DisposeAsync();
        Assert.False(queue.IsHeld, "after dispose without commit");

        await using (var failing = await connection.BeginTransactionAsync())
        {
            // The lock step succeeds, the statement itself fails (duplicate key).
            await Assert.ThrowsAnyAsync<DbException>(() => InsertAsync(connection, failing, 1));
        }

        Assert.False(queue.IsHeld, "after a failed statement and dispose");

        await using (var closedWithOpenTransaction = await OpenAsync(khonsu))
        {
            var open = await closedWithOpenTransaction.BeginTransactionAsync();
            await InsertAsync(closedWithOpenTransaction, open, 4);
        }

        Assert.False(queue.IsHeld, "after closing a connection with a transaction open");
        await InsertAndCommitAsync(khonsu, 5);
        Assert.Equal(2L, await CountAsync(path));
    }

    [Fact]
    public async Task A_stale_snapshot_fails_with_40001_and_gives_the_permit_back_at_once()
    {
        var path = CreateDatabase("snapshot.db");
        var khonsu = $"Khonsu:Sqlite:Data Source={path}";
        var queue = SqliteWriteQueue.For($"Data Source={path}");
        await using var stale = await OpenAsync(khonsu);
        await using var transaction = await stale.BeginTransactionAsync();
        Assert.Equal(0L, await CountAsync(stale, transaction)); // the snapshot
        await InsertAndCommitAsync(khonsu, 1);

        var error = await Assert.ThrowsAsync<KhonsuException>(() => InsertAsync(stale, transaction, 2));

        Assert.Equal("40001", error.SqlState);
        Assert.Contains("SQLITE_BUSY_SNAPSHOT", error.Message, StringComparison.Ordinal);
        Assert.False(queue.IsHeld, "the failed lock step gave the permit back before the transaction ended");
        await InsertAndCommitAsync(khonsu, 3);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_cycle_of_queue_waits_fails_its_youngest_member_at_once_and_the_oldest_goes_on(bool youngestClosesTheCycle)
    {
        var (alpha, beta) = (CreateDatabase("alpha.db", "alpha_items"), CreateDatabase("beta.db"));
        var khonsu = $"Khonsu:Sqlite.alpha=\"Data Source={alpha}\";Sqlite.beta=\"Data Source={beta}\";LockTimeout=0.2";
        await using var olderConnection = await OpenAsync(khonsu);
        await using var youngerConnection = await OpenAsync(khonsu);
        await using var older = await olderConnection.BeginTransactionAsync();
        await using var younger = await youngerConnection.BeginTransactionAsync();
        await ExecuteAsync(olderConnection, older, "INSERT INTO alpha_items (id) VALUES (1)");
        await InsertAsync(youngerConnection, younger, 2);

        // Each waits for the other's file: the second wait closes the cycle, whoever makes it.
        var betaQueue = SqliteWriteQueue.For($"Data Source={beta}");
        var alphaQueue = SqliteWriteQueue.For($"Data Source={alpha}");
        Task olderWaits;
        KhonsuException error;
        if (youngestClosesTheCycle)
        {
            olderWaits = InsertAsync(olderConnection, older, 1);
            await Poll.UntilAsync(() => Task.FromResult(betaQueue.Waiting == 1), TimeSpan.FromSeconds(10), "the older transaction queued for beta");
            error = await Assert.ThrowsAsync<KhonsuException>(() => ExecuteAsync(youngerConnection, younger, "INSERT INTO alpha_items (id) VALUES (2)"));
        }
        else
        {
            var youngerWaits = ExecuteAsync(youngerConnection, younger, "INSERT INTO alpha_items (id) VALUES (2)");
            await Poll.UntilAsync(() => Task.FromResult(alphaQueue.Waiting == 1), TimeSpan.FromSeconds(10), "the younger transaction queued for alpha");
            olderWaits = InsertAsync(olderConnection, older, 1);
            error = await Assert.ThrowsAsync<KhonsuException>(() => youngerWaits);
        }

        Assert.Equal("40001", error.SqlState);
        Assert.True(error.IsTransient);
        Assert.Contains("SQLite backend 'alpha'", error.Message, StringComparison.Ordinal);
        Assert.Contains("cycle of 2 transactions", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, alphaQueue.Waiting);

        // The victim rolls back, giving beta up: the older one gets it and commits.
        await younger.RollbackAsync();
        await olderWaits;
        await older.CommitAsync();
        Assert.Equal(1L, await CountAsync(beta));
    }

    [Fact]
    public async Task A_transaction_holding_another_permit_waits_in_the_queue_past_the_lock_timeout_when_no_cycle_forms()
    {
        var (alpha, beta) = (CreateDatabase("alpha.db", "alpha_items"), CreateDatabase("beta.db"));
        var khonsu = $"Khonsu:Sqlite.alpha=\"Data Source={alpha}\";Sqlite.beta=\"Data Source={beta}\";LockTimeout=0.2";
        var queue = SqliteWriteQueue.For($"Data Source={beta}");
        await using var holder = await OpenAsync(khonsu);
        var holding = await holder.BeginTransactionAsync();
        await InsertAsync(holder, holding, 1);

        // It holds alpha's permit and queues for beta's: the queue sees every wait, and this one
        // closes no cycle, so it is not bounded by LockTimeout (it used to fail here after 200 ms).
        await using var spanning = await OpenAsync(khonsu);
        await using var transaction = await spanning.BeginTransactionAsync();
        await ExecuteAsync(spanning, transaction, "INSERT INTO alpha_items (id) VALUES (1)");
        var waiting = InsertAsync(spanning, transaction, 2);
        await Poll.UntilAsync(() => Task.FromResult(queue.Waiting == 1), TimeSpan.FromSeconds(10), "the spanning transaction queued for beta");

        await Task.Delay(TimeSpan.FromMilliseconds(400));
        Assert.False(waiting.IsCompleted, "the queued write ended before the holder let go");
        await holding.CommitAsync();
        await waiting;
        await transaction.CommitAsync();
        Assert.Equal(2L, await CountAsync(beta));
    }

    [Fact]
    public async Task A_transaction_spanning_backends_that_holds_no_other_permit_waits_in_the_queue_past_the_lock_timeout()
    {
        var (alpha, beta) = (CreateDatabase("alpha.db", "alpha_items"), CreateDatabase("beta.db"));
        var khonsu = $"Khonsu:Sqlite.alpha=\"Data Source={alpha}\";Sqlite.beta=\"Data Source={beta}\";LockTimeout=0.2";
        var queue = SqliteWriteQueue.For($"Data Source={beta}");
        await using var holder = await OpenAsync(khonsu);
        var holding = await holder.BeginTransactionAsync();
        await InsertAsync(holder, holding, 1);

        // Spans alpha (a read: a snapshot, no permit) and beta, whose permit the holder has. Any
        // cycle through this wait has a bounded edge elsewhere (the holder's own waits on other
        // backends), so the wait here is the command's, not LockTimeout's.
        await using var spanning = await OpenAsync(khonsu);
        await using var transaction = await spanning.BeginTransactionAsync();
        await ExecuteAsync(spanning, transaction, "SELECT count(*) FROM alpha_items");
        var waiting = InsertAsync(spanning, transaction, 2);
        await Poll.UntilAsync(() => Task.FromResult(queue.Waiting == 1), TimeSpan.FromSeconds(10), "the spanning transaction queued for beta");

        // Longer than LockTimeout: the wait that used to fail here with 40001 goes on.
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        Assert.False(waiting.IsCompleted, "the queued write ended before the holder let go");
        await holding.CommitAsync();
        await waiting;
        await transaction.CommitAsync();
        Assert.Equal(2L, await CountAsync(beta));
    }

    [Fact]
    public async Task A_writer_outside_the_queue_is_waited_for_within_the_lock_timeout_then_40001()
    {
        var (alpha, beta) = (CreateDatabase("alpha.db", "alpha_items"), CreateDatabase("beta.db"));
        var khonsu = $"Khonsu:Sqlite.alpha=\"Data Source={alpha}\";Sqlite.beta=\"Data Source={beta}\";LockTimeout=0.2";
        await using var spanning = await OpenAsync(khonsu);

        // An older transaction of the process is live, so this one waits LockTimeout (the oldest
        // would wait ten times longer).
        await using var olderConnection = await OpenAsync(khonsu);
        await using var older = await olderConnection.BeginTransactionAsync();

        // Another process's writer, as far as the queue knows.
        await using (var outside = new SqliteConnection($"Data Source={beta};Pooling=False"))
        {
            await outside.OpenAsync();
            await using var outsideTransaction = outside.BeginTransaction(deferred: false);

            await using var transaction = await spanning.BeginTransactionAsync();
            await ExecuteAsync(spanning, transaction, "INSERT INTO alpha_items (id) VALUES (1)");
            var error = await Assert.ThrowsAsync<KhonsuException>(() => InsertAsync(spanning, transaction, 2));

            Assert.Equal("40001", error.SqlState);
            Assert.Contains("SQLite backend 'beta'", error.Message, StringComparison.Ordinal);
            Assert.Contains("stayed taken for 200 ms while this transaction holds locks on other backends", error.Message, StringComparison.Ordinal);
            Assert.False(SqliteWriteQueue.For($"Data Source={beta}").IsHeld, "the failed lock step gave the permit back");
        }

        await using var after = await spanning.BeginTransactionAsync();
        await ExecuteAsync(spanning, after, "INSERT INTO alpha_items (id) VALUES (2)");
        await InsertAsync(spanning, after, 3);
        await after.CommitAsync();
        Assert.Equal(1L, await CountAsync(beta));
    }

    [Fact]
    public async Task Read_validation_queues_for_the_read_file_and_gives_the_permit_back_whatever_the_outcome()
    {
        var (alpha, beta) = (CreateDatabase("alpha.db", "alpha_items"), CreateDatabase("beta.db"));
        var khonsu = $"Khonsu:Sqlite.alpha=\"Data Source={alpha}\";Sqlite.beta=\"Data Source={beta}\";LockTimeout=0.2";
        var (alphaQueue, betaQueue) = (SqliteWriteQueue.For($"Data Source={alpha}"), SqliteWriteQueue.For($"Data Source={beta}"));
        await using var connection = await OpenAsync(khonsu);

        // Reads alpha, writes beta: prepare validates alpha's reads by taking its write lock.
        await using (var validated = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, validated, "SELECT count(*) FROM alpha_items");
            await InsertAsync(connection, validated, 1);
            await validated.CommitAsync();
        }

        Assert.False(alphaQueue.IsHeld, "validation's permit outlived the commit");
        Assert.False(betaQueue.IsHeld);

        // Validation queues behind a writer of the file it read (no deadlock: it waits its turn),
        // and once that writer has committed, what it read is stale: it is refused.
        await using var holder = await OpenAsync(khonsu);
        var holding = await holder.BeginTransactionAsync();
        await ExecuteAsync(holder, holding, "INSERT INTO alpha_items (id) VALUES (1)");
        await using (var refused = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, refused, "SELECT count(*) FROM alpha_items");
            await InsertAsync(connection, refused, 2);
            var committing = refused.CommitAsync();
            await Poll.UntilAsync(() => Task.FromResult(alphaQueue.Waiting == 1), TimeSpan.FromSeconds(10), "validation queued for alpha");
            Assert.True(betaQueue.IsHeld, "the validating transaction holds beta's permit while it waits");
            await holding.CommitAsync();
            var error = await Assert.ThrowsAsync<KhonsuException>(() => committing);
            Assert.Equal("40001", error.SqlState);
            Assert.Contains("SQLite backend 'alpha'", error.Message, StringComparison.Ordinal);
        }

        Assert.False(alphaQueue.IsHeld, "validation's permit was given back");
        Assert.False(betaQueue.IsHeld, "the refused transaction's write permit was given back");
        await InsertAndCommitAsync(khonsu, 3);
        Assert.Equal(2L, await CountAsync(beta));
    }

    [Fact]
    public void A_file_spelled_two_ways_is_one_queue()
    {
        // Two runtimes of one process share a file's queue. With embedded logs they cannot both
        // name it (the file belongs to one log, a log to one runtime); on a Kafka log they can:
        // Khonsu.Log.Kafka.Tests runs that case.
        var path = CreateDatabase("shared.db");
        var spelledOtherwise = Path.Combine(_directory.Path, "sub", "..", ".", "shared.db");

        Assert.Same(SqliteWriteQueue.For($"Data Source={path}"), SqliteWriteQueue.For($"Data Source=file:{spelledOtherwise}?cache=private"));
    }

    [Fact]
    public void A_file_is_one_key_however_the_connection_string_spells_it()
    {
        var path = CreateDatabase("spelled.db");
        var link = _directory.File("link.db");
        File.CreateSymbolicLink(link, path);
        var key = SqliteWriteQueue.KeyOf(path, SqliteOpenMode.ReadWriteCreate);

        Assert.Equal(key, SqliteWriteQueue.KeyOf(link, SqliteOpenMode.ReadWriteCreate));
        Assert.Equal(key, SqliteWriteQueue.KeyOf($"file:{path}?mode=rw", SqliteOpenMode.ReadWriteCreate));
        Assert.Equal(Path.GetFullPath("relative.db"), SqliteWriteQueue.KeyOf("relative.db", SqliteOpenMode.ReadWriteCreate));
        Assert.Equal("memory:shared", SqliteWriteQueue.KeyOf("shared", SqliteOpenMode.Memory));
        Assert.Equal("memory:shared", SqliteWriteQueue.KeyOf("file:shared?mode=memory&cache=shared", SqliteOpenMode.ReadWriteCreate));
    }

    private string CreateDatabase(string fileName, string table = "items")
    {
        var path = _directory.File(fileName);
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {table} (id INTEGER PRIMARY KEY)";
        command.ExecuteNonQuery();
        return path;
    }

    private async Task<KhonsuConnection> OpenAsync(string connectionString)
    {
        lock (_runtimes)
        {
            _runtimes.Add(connectionString);
        }

        var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static Task InsertAsync(KhonsuConnection connection, KhonsuTransaction transaction, int id)
        => ExecuteAsync(connection, transaction, $"INSERT INTO items (id) VALUES ({id})");

    private static async Task ExecuteAsync(KhonsuConnection connection, KhonsuTransaction transaction, string sql)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = 30;
        await command.ExecuteNonQueryAsync();
    }

    private async Task InsertAndCommitAsync(string connectionString, int id)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var transaction = await connection.BeginTransactionAsync();
        await InsertAsync(connection, transaction, id);
        await transaction.CommitAsync();
    }

    private static async Task<long> CountAsync(KhonsuConnection connection, KhonsuTransaction transaction)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT count(*) FROM items";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> CountAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM items";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
