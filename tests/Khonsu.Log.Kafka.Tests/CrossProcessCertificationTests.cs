using System.Data.Common;
using Khonsu.Data;
using Khonsu.Engine;
using Khonsu.Engine.Log;
using Khonsu.Engine.SharedLog;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// Two runtimes (connection strings with different <c>Node</c>s, so two certifiers, as two
/// processes would have) share one Kafka log. Each anomaly below is invisible to the certifier
/// of either runtime alone and to both databases: only certification in log order refuses it.
/// </summary>
public sealed class CrossProcessCertificationTests
{
    [Fact]
    public async Task A_cycle_across_backends_and_processes_is_refused_in_log_order_and_every_process_agrees()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using var a = await db.OpenAsync(";Node=a");
        await using var b = await db.OpenAsync(";Node=b");

        // T1 (process a) counts account 1's orders in PostgreSQL: a whole-table read nothing validates.
        await using var t1 = await a.BeginTransactionAsync();
        Assert.Equal(0L, await ScalarAsync(a, "SELECT count(*) FROM orders WHERE account_id = 1"));

        // T2 (process b) reads account 1's balance in SQLite and records an order: it commits first.
        await using (var t2 = await b.BeginTransactionAsync())
        {
            Assert.Equal((long)KafkaDatabases.StartBalance, await ScalarAsync(b, "SELECT balance FROM accounts WHERE id = 1"));
            await ExecuteAsync(b, "INSERT INTO orders (id, account_id, amount) VALUES (1, 1, 10)");
            await t2.CommitAsync();
        }

        // T1 debits account 1 as if there were no order: T1 -rw-> T2 (orders) and T2 -rw-> T1 (accounts).
        await ExecuteAsync(a, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => t1.CommitAsync());

        Assert.Equal("40001", refused.SqlState);
        Assert.True(refused.IsTransient);
        Assert.Contains("dangerous structure", refused.Message, StringComparison.Ordinal);
        Assert.Equal((long)KafkaDatabases.StartBalance, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        var id = new TransactionId(Guid.Parse(((KhonsuTransaction)t1).TransactionId));
        foreach (var process in new[] { a, b })
        {
            var decision = await process.Runtime.Log.GetDecisionAsync(id);
            Assert.NotNull(decision);
            Assert.Equal(LogRecordKind.Abort, decision.Record.Kind);
            Assert.Contains("refused by certification in log order", decision.Record.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Single_backend_transactions_go_through_the_shared_log_so_a_write_skew_between_processes_is_refused()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using var a = await db.OpenAsync(";Node=a");
        await using var b = await db.OpenAsync(";Node=b");

        // Each checks that the other account has no order, then records one for its own: PostgreSQL
        // at REPEATABLE READ lets both commit, and neither process certifies the other's transaction.
        await using var t1 = await a.BeginTransactionAsync();
        await using var t2 = await b.BeginTransactionAsync();
        Assert.Equal(0L, await ScalarAsync(a, "SELECT count(*) FROM orders WHERE account_id = 2"));
        Assert.Equal(0L, await ScalarAsync(b, "SELECT count(*) FROM orders WHERE account_id = 1"));
        await ExecuteAsync(a, "INSERT INTO orders (id, account_id, amount) VALUES (1, 1, 10)");
        await ExecuteAsync(b, "INSERT INTO orders (id, account_id, amount) VALUES (2, 2, 10)");
        await t1.CommitAsync();
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => t2.CommitAsync());

        Assert.Equal("40001", refused.SqlState);
        Assert.Equal([(1, 1, 10)], await db.OrdersAsync());
        var commits = new List<LogRecord>();
        await foreach (var logged in a.Runtime.Log.ReadFromAsync(LogPosition.Start))
        {
            commits.Add(logged.Record);
        }

        // Both wrote a commit record with what they read; the second one's verdict is an abort.
        var first = Assert.Single(commits, r => r.TransactionId.ToString() == ((KhonsuTransaction)t1).TransactionId && r.Kind == LogRecordKind.Commit);
        Assert.NotNull(first.Certification);
        Assert.Contains(first.Certification.Reads, read => read.Table == "orders" && read.Key is null);
        Assert.Contains("certify: snapshot @", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(first)), StringComparison.Ordinal);
        Assert.Contains("read shop.orders", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(first)), StringComparison.Ordinal);
        Assert.Contains(commits, r => r.TransactionId.ToString() == ((KhonsuTransaction)t2).TransactionId && r.Kind == LogRecordKind.Abort);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a's certifier cannot see b's running T2, so a deferrable T1 still leaves its record
    public async Task The_read_only_anomaly_whose_pivot_commits_later_in_another_process_is_refused(bool deferrable)
    {
        // Fekete, O'Neil and O'Neil across processes: T2 (process b, the pivot) reads account 1's
        // orders before T3 (process a) adds one, then debits account 2. The report T1 (process a,
        // read-only) sees T3's order and account 2 before T2's debit, and finishes before T2
        // commits: T1 -rw-> T2 -rw-> T3, with T3 visible to T1. Only T1's record in the log lets
        // process b's certifier see T1 at all.
        await using var db = await KafkaDatabases.CreateAsync();
        await using var a = await db.OpenAsync(";Node=a");
        await using var b = await db.OpenAsync(";Node=b");

        await using var t2 = await b.BeginTransactionAsync();
        Assert.Equal(0L, await ScalarAsync(b, "SELECT count(*) FROM orders WHERE account_id = 1"));

        await using (var t3 = await a.BeginTransactionAsync())
        {
            await ExecuteAsync(a, "INSERT INTO orders (id, account_id, amount) VALUES (1, 1, 10)");
            await t3.CommitAsync();
        }

        long reportedBalance;
        await using (var t1 = await a.BeginReadOnlyTransactionAsync(deferrable))
        {
            Assert.Equal(deferrable, t1.IsDeferrable);
            Assert.Equal(1L, await ScalarAsync(a, "SELECT count(*) FROM orders WHERE account_id = 1"));
            reportedBalance = await ScalarAsync(a, "SELECT balance FROM accounts WHERE id = 2");
            await t1.CommitAsync();
        }

        await ExecuteAsync(b, "UPDATE accounts SET balance = balance - 10 WHERE id = 2");
        var refused = await Assert.ThrowsAsync<KhonsuException>(() => t2.CommitAsync());

        Assert.Equal("40001", refused.SqlState);
        Assert.Contains("dangerous structure with this transaction as pivot", refused.Message, StringComparison.Ordinal);
        Assert.Equal(reportedBalance, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
    }

    [Fact]
    public async Task A_read_only_transaction_leaves_a_record_that_is_never_ended_or_recovered()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using var a = await db.OpenAsync(";Node=a");
        await using var report = await a.BeginReadOnlyTransactionAsync();
        Assert.Equal(0L, await ScalarAsync(a, "SELECT count(*) FROM orders"));
        await report.CommitAsync();
        var id = ((KhonsuTransaction)report).TransactionId;

        var records = new List<LoggedRecord>();
        await foreach (var logged in a.Runtime.Log.ReadFromAsync(LogPosition.Start))
        {
            records.Add(logged);
        }

        var (position, record) = Assert.Single(records, r => r.Record.TransactionId.ToString() == id);
        Assert.Equal(LogRecordKind.Commit, record.Kind);
        Assert.True(record.IsReadOnlyCertification);
        Assert.Contains(record.Certification!.Reads, read => read.Table == "orders" && read.Key is null);
        Assert.Contains("read-only transaction", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(record)), StringComparison.Ordinal);
        await foreach (var unfinished in a.Runtime.Log.ReadUnfinishedAsync())
        {
            Assert.NotEqual(id, unfinished.Record.TransactionId.ToString());
        }

        // Nothing waits for an end record: the finished watermark moves past it.
        Assert.True(((ISharedCommitLog)a.Runtime.Log).Certifier.TakeSnapshot() >= position);
    }

    [Fact]
    public async Task Transactions_of_two_processes_on_disjoint_rows_both_commit()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using var a = await db.OpenAsync(";Node=a");
        await using var b = await db.OpenAsync(";Node=b");

        await using var t1 = await a.BeginTransactionAsync();
        await using var t2 = await b.BeginTransactionAsync();
        await ExecuteAsync(a, "UPDATE accounts SET balance = balance - 1 WHERE id = 1");
        await ExecuteAsync(b, "INSERT INTO orders (id, account_id, amount) VALUES (2, 2, 1)");
        await ExecuteAsync(a, "INSERT INTO orders (id, account_id, amount) VALUES (1, 1, 1)");
        await t1.CommitAsync();
        await ExecuteAsync(b, "UPDATE accounts SET balance = balance - 1 WHERE id = 2");
        await t2.CommitAsync();

        await db.AssertBalancesMatchOrdersAsync();
        Assert.Equal(2, (await db.OrdersAsync()).Count);
    }

    private static async Task<long> ScalarAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
