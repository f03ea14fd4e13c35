using System.Data;
using Khonsu.Engine.Certification;
using Khonsu.TestSupport;
using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

/// <summary>
/// BeginReadOnlyTransactionAsync(deferrable: true), PostgreSQL's SERIALIZABLE READ ONLY DEFERRABLE:
/// waits for a safe snapshot, takes it on both backends, and never fails with 40001.
/// </summary>
public class DeferrableTransactionTests
{
    private const string ReadOnly = "read only";
    private const string Deferrable = "read only deferrable";

    [Theory]
    [InlineData(ReadOnly)]
    [InlineData(Deferrable)]
    public async Task In_the_read_only_anomaly_a_plain_reader_fails_and_a_deferrable_one_waits_for_the_receipt_and_sees_it(string mode)
    {
        // Fekete, O'Neil and O'Neil: a report of a closed batch misses a receipt added to it later.
        // The receipt reads the batch through an aggregate (a whole-table read, which the certifier
        // judges, not read validation), so it commits as the pivot: receipt -rw-> close.
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE TABLE control (id integer PRIMARY KEY, batch integer NOT NULL); INSERT INTO control VALUES (1, 1);");
        await db.SqliteAsync("CREATE TABLE receipts (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, amount INTEGER NOT NULL);");
        await using var receiptConnection = await db.OpenAsync();
        await using var closeConnection = await db.OpenAsync();
        await using var reportConnection = await db.OpenAsync();

        await using var receipt = await receiptConnection.BeginTransactionAsync(IsolationLevel.Serializable);
        var batch = Convert.ToInt64(await Scalar(receiptConnection, "SELECT max(batch) FROM control"));
        await using (var close = await closeConnection.BeginTransactionAsync(IsolationLevel.Serializable))
        {
            await Execute(closeConnection, "UPDATE control SET batch = batch + 1 WHERE id = 1");
            await close.CommitAsync();
        }

        if (mode == ReadOnly)
        {
            await using var report = await reportConnection.BeginReadOnlyTransactionAsync();
            Assert.Equal(2, await Scalar(reportConnection, "SELECT max(batch) FROM control"));
            Assert.Equal(0L, await Scalar(reportConnection, "SELECT coalesce(sum(amount), 0) FROM receipts WHERE batch = 1"));
            await Execute(receiptConnection, $"INSERT INTO receipts (id, batch, amount) VALUES (1, {batch}, 10)");
            await receipt.CommitAsync();

            var refused = await Assert.ThrowsAsync<KhonsuException>(() => report.CommitAsync());
            Assert.Equal("40001", refused.SqlState); // its report of batch 1 missed the receipt
            return;
        }

        var waiting = WaitingForSafeSnapshot(reportConnection);
        var pending = reportConnection.BeginReadOnlyTransactionAsync(deferrable: true).AsTask();
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(pending.IsCompleted); // the receipt began before it and may still write

        await Execute(receiptConnection, $"INSERT INTO receipts (id, batch, amount) VALUES (1, {batch}, 10)");
        await receipt.CommitAsync();
        await using var deferred = await pending;

        Assert.True(deferred.IsDeferrable && deferred.IsReadOnly);
        Assert.Equal(2, await Scalar(reportConnection, "SELECT max(batch) FROM control"));
        Assert.Equal(10L, await Scalar(reportConnection, "SELECT coalesce(sum(amount), 0) FROM receipts WHERE batch = 1"));
        await deferred.CommitAsync();
        Assert.Empty(await db.TransactionLogAsync(deferred.TransactionId));
    }

    [Fact]
    public async Task With_no_concurrent_writer_it_begins_at_once_with_its_snapshot_taken_on_both_backends()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var writer = await db.OpenAsync();
        var waited = 0;
        connection.Runtime.Certifier.WaitingForSafeSnapshot = _ => Interlocked.Increment(ref waited);

        await using var deferred = await connection.BeginReadOnlyTransactionAsync(deferrable: true);
        await using (var update = await writer.BeginTransactionAsync())
        {
            await Execute(writer, "UPDATE accounts SET balance = 1 WHERE id = 1");
            await Execute(writer, "UPDATE orders SET amount = 1 WHERE id = 100");
            await update.CommitAsync();
        }

        // Both snapshots were taken at begin, before the update, though neither backend was read yet.
        Assert.Equal(100L, await Scalar(connection, "SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(5, await Scalar(connection, "SELECT amount FROM orders WHERE id = 100"));
        await deferred.CommitAsync();
        Assert.Equal(0, waited);
        Assert.Empty(await db.TransactionLogAsync(deferred.TransactionId));
    }

    [Fact]
    public async Task Cancelling_the_wait_throws_and_leaves_nothing_behind()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var writerConnection = await db.OpenAsync();
        var writer = await HoldOlderSnapshotAsync(db, writerConnection, "");
        using var cancel = new CancellationTokenSource();

        var waiting = WaitingForSafeSnapshot(connection);
        var pending = connection.BeginReadOnlyTransactionAsync(deferrable: true, cancel.Token).AsTask();
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.Equal(0, connection.Runtime.Certifier.SafeSnapshotCandidates);
        Assert.Null(connection.CurrentTransaction);
        // Its local transaction on PostgreSQL was rolled back (the writer read SQLite only).
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"));

        await using (var next = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
            await next.CommitAsync();
        }

        await Execute(writerConnection, "UPDATE accounts SET balance = balance - 1 WHERE id = 2");
        await writer.CommitAsync();
        await writer.DisposeAsync();
    }

    [Fact]
    public async Task The_wait_is_bounded_by_SafeSnapshotTimeout()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";SafeSnapshotTimeout=0.2");
        await using var writerConnection = await db.OpenAsync(";SafeSnapshotTimeout=0.2");
        await using var writer = await HoldOlderSnapshotAsync(db, writerConnection, ";SafeSnapshotTimeout=0.2");

        var timedOut = await Assert.ThrowsAsync<KhonsuException>(async () => await connection.BeginReadOnlyTransactionAsync(deferrable: true));

        Assert.Equal("57014", timedOut.SqlState);
        Assert.True(timedOut.IsTransient);
        Assert.Contains("no safe snapshot within 0.2 s (key 'SafeSnapshotTimeout')", timedOut.Message, StringComparison.Ordinal);
        Assert.Null(connection.CurrentTransaction);
        Assert.Equal(0, connection.Runtime.Certifier.SafeSnapshotCandidates);
    }

    [Fact]
    public async Task It_begins_among_writers_committing_back_to_back_with_one_cut_and_they_go_on()
    {
        // Four writers commit back to back on both backends while it begins: the certifier's gate
        // holds them at certification while it takes its snapshots (prepared, holding their
        // locks), and lets them go after. SafeSnapshotTests shows the gate itself; this shows it
        // on real databases: no deadlock, one cut, and the writers carry on.
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE TABLE ticks (id serial PRIMARY KEY, writer integer NOT NULL)");
        await db.SqliteAsync("CREATE TABLE ticks_seen (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL)");
        await using var connection = await db.OpenAsync(";SafeSnapshotTimeout=20");
        using var stop = new CancellationTokenSource();
        var commits = 0;
        var writers = Enumerable.Range(1, 4).Select(writer => Task.Run(async () =>
        {
            await using var own = await db.OpenAsync(";SafeSnapshotTimeout=20");
            while (!stop.IsCancellationRequested)
            {
                await using var transaction = await own.BeginTransactionAsync(IsolationLevel.Snapshot);
                await Execute(own, $"INSERT INTO ticks (writer) VALUES ({writer})");
                await Execute(own, $"INSERT INTO ticks_seen (writer) VALUES ({writer})");
                await transaction.CommitAsync();
                Interlocked.Increment(ref commits);
            }
        })).ToList();
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref commits) >= 20), TimeSpan.FromSeconds(60), "the writers commit");

        await using (var deferred = await connection.BeginReadOnlyTransactionAsync(deferrable: true))
        {
            // One cut across both backends: every writer's tick is on both or on neither.
            Assert.Equal(
                await Scalar(connection, "SELECT count(*) FROM ticks"),
                await Scalar(connection, "SELECT count(*) FROM ticks_seen"));
            await deferred.CommitAsync();
        }

        var before = Volatile.Read(ref commits);
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref commits) >= before + 8), TimeSpan.FromSeconds(60), "the writers go on after the snapshot");
        await stop.CancelAsync();
        await Task.WhenAll(writers);
    }

    [Fact]
    public async Task A_statement_that_writes_fails_with_25006_like_in_any_read_only_transaction()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var deferred = await connection.BeginReadOnlyTransactionAsync(deferrable: true);

        var refused = await Assert.ThrowsAsync<KhonsuException>(() => Execute(connection, "UPDATE orders SET amount = 0 WHERE id = 100"));

        Assert.Equal("25006", refused.SqlState);
        Assert.Equal(deferred.TransactionId, refused.TransactionId);
        await deferred.CommitAsync();
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    /// <summary>
    /// A read-write transaction that read before another one committed: a deferrable transaction
    /// begun now must wait for it.
    /// </summary>
    private static async Task<KhonsuTransaction> HoldOlderSnapshotAsync(TwoDatabases db, KhonsuConnection writerConnection, string extra)
    {
        var writer = await writerConnection.BeginTransactionAsync(IsolationLevel.Serializable);
        Assert.Equal(50L, await Scalar(writerConnection, "SELECT balance FROM accounts WHERE id = 2"));
        await using var other = await db.OpenAsync(extra); // the same runtime, so the same certifier
        await using var update = await other.BeginTransactionAsync();
        await Execute(other, "UPDATE orders SET amount = 7 WHERE id = 100");
        await update.CommitAsync();
        return writer;
    }

    private static Task WaitingForSafeSnapshot(KhonsuConnection connection)
    {
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Runtime.Certifier.WaitingForSafeSnapshot = (SafeSnapshot _) => waiting.TrySetResult();
        return waiting.Task;
    }
}
