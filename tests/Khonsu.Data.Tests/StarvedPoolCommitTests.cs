using System.Diagnostics;
using System.Globalization;

namespace Khonsu.Data.Tests;

/// <summary>
/// Synchronous commits need no thread-pool thread: with every pool thread blocked (and the pool
/// kept from growing), commits from more threads than the pool's minimum still complete, each
/// doing its I/O, the commit log's group commit included, on its own thread.
/// </summary>
/// <remarks>
/// Across two SQLite files, so that every commit goes through two-phase commit with its decision
/// in the embedded log. Not with PostgreSQL: there Npgsql's synchronous NpgsqlBatch of several
/// statements (read the captured writes, PREPARE) was seen to stall until its command timeout
/// while the pool was starved, its send never reaching the server (docs/limits.md).
/// </remarks>
[Collection(nameof(ThreadPoolStarvation))]
public class StarvedPoolCommitTests
{
    // Far beyond any commit here: reaching it means the commits wait for the pool that is held.
    private static readonly TimeSpan Hung = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Synchronous_cross_database_commits_complete_while_the_thread_pool_is_starved()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var archive = db.Directory.File("archive.db");
        await Khonsu.TestSupport.DirectSql.SqliteAsync(archive, "CREATE TABLE receipts (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)");
        ThreadPool.GetMinThreads(out var minWorkers, out _);
        var threads = Math.Max(8, 4 * minWorkers);
        var connections = new List<KhonsuConnection>();
        for (var i = 0; i < threads; i++)
        {
            connections.Add(await db.OpenAsync($";Sqlite.archive=\"Data Source={archive}\""));
        }

        // Every statement text planned and every inner connection opened before the pool is held.
        foreach (var (connection, i) in connections.Select((c, i) => (c, i)))
        {
            Transfer(connection, i);
        }

        var failures = new Exception?[threads];
        using (StarvedThreadPool.Hold())
        {
            var committers = connections.Select((connection, i) => new Thread(() =>
            {
                try
                {
                    Transfer(connection, threads + i);
                }
                catch (Exception error)
                {
                    failures[i] = error;
                }
            })).ToList();
            committers.ForEach(t => t.Start());
            var started = Stopwatch.GetTimestamp();
            var finished = committers.Select(t => t.Join(Max(TimeSpan.Zero, Hung - Stopwatch.GetElapsedTime(started)))).ToList();

            Assert.All(finished, Assert.True);
        }

        Assert.All(failures, Assert.Null);
        Assert.Equal((long)threads * 2, Convert.ToInt64(await db.SqliteScalarAsync("SELECT count(*) FROM accounts WHERE id >= 1000"), CultureInfo.InvariantCulture));
        Assert.Equal((long)threads * 2, Convert.ToInt64(await Khonsu.TestSupport.DirectSql.SqliteScalarAsync(archive, "SELECT count(*) FROM receipts"), CultureInfo.InvariantCulture));
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>One transaction across the two SQLite files, every call synchronous.</summary>
    private static void Transfer(KhonsuConnection connection, int n)
    {
        using var transaction = connection.BeginTransaction();
        using (var account = new KhonsuCommand("INSERT INTO accounts (id, owner, balance) VALUES (@id, 'starved', 0)", connection) { Transaction = transaction })
        {
            account.Parameters.Add(new KhonsuParameter("id", 1000 + n));
            account.ExecuteNonQuery();
        }

        using (var receipt = new KhonsuCommand("INSERT INTO receipts (id, amount) VALUES (@id, 1)", connection) { Transaction = transaction })
        {
            receipt.Parameters.Add(new KhonsuParameter("id", 1000 + n));
            receipt.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
