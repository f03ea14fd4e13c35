using System.Collections.Concurrent;
using Npgsql;

namespace Khonsu.Data.Tests;

/// <summary>
/// A synchronous ADO.NET call runs the inner provider's synchronous methods (one code path with
/// the asynchronous call, the choice passed down): it does its I/O on the caller's thread, rather
/// than blocking that thread on an asynchronous path whose continuations need the thread pool.
/// </summary>
public class SynchronousIoTests
{
    [Theory]
    [InlineData("scalar")]
    [InlineData("reader")]
    [InlineData("non-query")]
    [InlineData("batch")]
    [InlineData("batch-reader")]
    public async Task A_synchronous_statement_reads_its_reply_on_the_calling_thread(string call)
    {
        await using var db = await TwoDatabases.CreateAsync();
        // The reply comes late, so an asynchronous read of it cannot complete at once.
        await db.PostgresAsync("CREATE FUNCTION noisy() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RAISE NOTICE 'replying'; RETURN 1; END $$");
        await using var connection = await db.OpenAsync();
        var (caller, readOn) = await RunOnAThreadOfItsOwnAsync(connection, _ =>
        {
            const string sql = "SELECT noisy(), amount FROM orders WHERE id = 100";
            using var command = new KhonsuCommand(sql, connection);
            using var batch = new KhonsuBatch(connection) { BatchCommands = { new KhonsuBatchCommand(sql) } };
            switch (call)
            {
                case "batch":
                    Assert.Equal(0, batch.ExecuteNonQuery()); // a SELECT reports no rows changed
                    break;
                case "batch-reader":
                    using (var reader = batch.ExecuteReader())
                    {
                        Assert.True(reader.Read());
                        Assert.False(reader.NextResult());
                    }

                    break;
                case "scalar":
                    Assert.Equal(1, command.ExecuteScalar());
                    break;
                case "reader":
                    using (var reader = command.ExecuteReader())
                    {
                        Assert.True(reader.Read());
                        Assert.False(reader.Read());
                    }

                    break;
                default:
                    Assert.Equal(-1, command.ExecuteNonQuery());
                    break;
            }
        });

        Assert.Equal([caller], readOn);
    }

    [Theory]
    [InlineData("explicit, SQLite and PostgreSQL")]
    [InlineData("autocommit write")]
    public async Task A_synchronous_commit_reads_its_reply_on_the_calling_thread(string commit)
    {
        await using var db = await TwoDatabases.CreateAsync();

        // A deferred constraint trigger runs at PREPARE TRANSACTION (two-phase) or COMMIT (one
        // phase), not with the statement: its notice rides on the commit's own reply, late.
        await db.PostgresAsync("""
            CREATE FUNCTION noisy_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RAISE NOTICE 'committing'; RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER orders_noisy_commit AFTER INSERT OR UPDATE ON orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION noisy_commit()
            """);
        await using var connection = await db.OpenAsync();
        var (caller, readOn) = await RunOnAThreadOfItsOwnAsync(connection, noticesSoFar =>
        {
            if (commit == "autocommit write")
            {
                using var update = new KhonsuCommand("UPDATE orders SET amount = amount + 1 WHERE id = 100", connection);
                Assert.Equal(1, update.ExecuteNonQuery());
                return;
            }

            using var transaction = connection.BeginTransaction();
            using (var debit = new KhonsuCommand("UPDATE accounts SET balance = balance - 5 WHERE id = 1", connection) { Transaction = transaction })
            {
                debit.ExecuteNonQuery();
            }

            using (var order = new KhonsuCommand("UPDATE orders SET amount = amount + 5 WHERE id = 100", connection) { Transaction = transaction })
            {
                order.ExecuteNonQuery();
            }

            Assert.Empty(noticesSoFar); // deferred: nothing yet
            transaction.Commit();
        });

        Assert.Equal([caller], readOn);
        Assert.Equal(commit == "autocommit write" ? 6L : 10L, Convert.ToInt64(await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a thread of its own (given the threads notices were read on so
    /// far) and returns that thread's id with the threads on which the "shop" backend's notices were
    /// read: Npgsql raises a notice on the thread that reads the reply carrying it.
    /// </summary>
    private static async Task<(int Caller, ConcurrentQueue<int> ReadOn)> RunOnAThreadOfItsOwnAsync(KhonsuConnection connection, Action<ConcurrentQueue<int>> work)
    {
        var shop = connection.Runtime.Backends.Single(b => b.Name == "shop");
        var inner = (NpgsqlConnection)await connection.GetInnerConnectionAsync(shop, async: true, CancellationToken.None);
        var readOn = new ConcurrentQueue<int>();
        inner.Notice += (_, _) => readOn.Enqueue(Environment.CurrentManagedThreadId);
        var caller = 0;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            caller = Environment.CurrentManagedThreadId;
            try
            {
                work(readOn);
            }
            catch (Exception error)
            {
                failure = error;
            }
        });
        thread.Start();
        thread.Join();
        Assert.Null(failure);
        return (caller, readOn);
    }
}
