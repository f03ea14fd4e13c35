using System.Diagnostics;
using Dapper;
using Khonsu.Data;

namespace Khonsu.Benchmarks;

/// <summary>
/// The sync-over-async section: Dapper's synchronous <c>Execute</c> (an autocommit UPDATE of a
/// random row, a certified Khonsu transaction of its own) and <c>Query</c> (a point SELECT)
/// through Khonsu over PostgreSQL, and a transfer (an UPDATE on PostgreSQL and one on SQLite in
/// one transaction, then an explicit <c>Commit</c>: two-phase commit with the decision in the
/// embedded log) from <see cref="Workers"/> dedicated threads, against the asynchronous
/// <c>ExecuteAsync</c>, <c>QueryAsync</c> and <c>CommitAsync</c> from as many tasks, with the
/// thread pool's default settings. A synchronous call that blocks a pool thread on an asynchronous path starves
/// the pool: it shows as a low sync / async throughput and a long p99.
/// </summary>
internal sealed class SyncAsyncSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private const int Workers = 32;

    private static readonly string[] Operations = ["execute", "query", "transfer"];

    /// <summary>Every ratio this section prints (RatioReport checks that none is missing).</summary>
    public static IEnumerable<string> RatioIds()
        => from operation in Operations
           from id in new[] { "throughput", "p99" }
           select $"sync.{Backends(operation)}.{operation}.{id}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        report.Section($"Sync against async through Dapper ({Workers} threads against {Workers} tasks, default thread pool): Khonsu over PostgreSQL, and PostgreSQL + SQLite for the transfer");
        var rounds = options.Quick ? 1 : 3;
        var duration = options.Quick ? options.RunDuration : options.RunDuration / 2;
        foreach (var operation in Operations)
        {
            var connectionString = operation == "transfer" ? environment.KhonsuBackends(2) : environment.KhonsuPostgresOnly();
            await environment.OpenOnceAsync(connectionString, cancellationToken);
            await RunSyncAsync(connectionString, operation, options.WarmupDuration);
            await RunAsyncAsync(connectionString, operation, options.WarmupDuration, cancellationToken);
            var sync = new List<LoadResult>();
            var async = new List<LoadResult>();
            for (var round = 0; round < rounds; round++)
            {
                // Interleaved, so that a burst of foreign load on this shared machine hits both alike.
                sync.Add(await RunSyncAsync(connectionString, operation, duration));
                async.Add(await RunAsyncAsync(connectionString, operation, duration, cancellationToken));
            }

            var s = sync.OrderBy(r => r.Throughput).ElementAt(rounds / 2);
            var a = async.OrderBy(r => r.Throughput).ElementAt(rounds / 2);
            var id = $"sync.{Backends(operation)}.{operation}";
            report.Figure($"{id} {s} (median of {rounds} round(s))");
            report.Figure($"{id} {a} (median of {rounds} round(s))");
            report.Ratio($"{id}.throughput", s.Throughput / a.Throughput, $"{Name(operation)}/s, sync from {Workers} threads / async from {Workers} tasks");
            report.Ratio($"{id}.p99", s.P99Ms / a.P99Ms, $"p99 latency of {Name(operation)}, sync from {Workers} threads / async from {Workers} tasks");
        }
    }

    private static string Backends(string operation) => operation == "transfer" ? "postgres+sqlite" : "postgres";

    private static string Name(string operation) => operation switch
    {
        "execute" => "Dapper Execute (autocommit UPDATE)",
        "query" => "Dapper Query (point SELECT)",
        _ => "transfer (UPDATE on PostgreSQL and SQLite, explicit Commit)",
    };

    /// <summary>One operation, every call synchronous.</summary>
    private static void RunOnce(KhonsuConnection connection, string operation, int id)
    {
        switch (operation)
        {
            case "execute":
                connection.Execute("UPDATE pg_accounts SET balance = balance + 1 WHERE id = @id", new { id });
                break;
            case "query":
                connection.Query<long>("SELECT balance FROM pg_accounts WHERE id = @id", new { id }).AsList();
                break;
            default:
                using (var transaction = connection.BeginTransaction())
                {
                    connection.Execute("UPDATE pg_accounts SET balance = balance - 1 WHERE id = @id", new { id }, transaction);
                    connection.Execute($"UPDATE {BenchEnvironment.SqliteTable(1)} SET balance = balance + 1 WHERE id = @id", new { id }, transaction);
                    transaction.Commit();
                }

                break;
        }
    }

    /// <summary>The same operation, every call asynchronous.</summary>
    private static async Task RunOnceAsync(KhonsuConnection connection, string operation, int id, CancellationToken cancellationToken)
    {
        switch (operation)
        {
            case "execute":
                await connection.ExecuteAsync(new CommandDefinition("UPDATE pg_accounts SET balance = balance + 1 WHERE id = @id", new { id }, cancellationToken: cancellationToken));
                break;
            case "query":
                (await connection.QueryAsync<long>(new CommandDefinition("SELECT balance FROM pg_accounts WHERE id = @id", new { id }, cancellationToken: cancellationToken))).AsList();
                break;
            default:
                await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
                {
                    await connection.ExecuteAsync(new CommandDefinition("UPDATE pg_accounts SET balance = balance - 1 WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
                    await connection.ExecuteAsync(new CommandDefinition($"UPDATE {BenchEnvironment.SqliteTable(1)} SET balance = balance + 1 WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
                    await transaction.CommitAsync(cancellationToken);
                }

                break;
        }
    }

    private static Task<LoadResult> RunSyncAsync(string connectionString, string operation, TimeSpan duration)
    {
        var label = $"sync {operation}";
        var done = new TaskCompletionSource<LoadResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var coordinator = new Thread(() =>
        {
            try
            {
                var latencies = new List<double>[Workers];
                long aborted = 0;
                using var ready = new Barrier(Workers + 1);
                var clock = new Stopwatch();
                var threads = Enumerable.Range(0, Workers).Select(i => new Thread(() =>
                {
                    using var connection = new KhonsuConnection(connectionString);
                    connection.Open();
                    var random = new Random(i * 7919);
                    var mine = latencies[i] = [];
                    ready.SignalAndWait();
                    while (clock.Elapsed < duration)
                    {
                        var started = clock.Elapsed;
                        var id = random.Next(1, BenchEnvironment.Accounts + 1);
                        try
                        {
                            RunOnce(connection, operation, id);
                        }
                        catch (Exception error) when (LoadDriver.IsTransient(error))
                        {
                            Interlocked.Increment(ref aborted);
                            continue; // a concurrent update of the same row: another row next
                        }

                        mine.Add((clock.Elapsed - started).TotalMilliseconds);
                    }
                }) { IsBackground = true, Name = $"sync-bench-{i}" }).ToList();
                threads.ForEach(t => t.Start());
                ready.SignalAndWait();
                clock.Start();
                threads.ForEach(t => t.Join());
                done.SetResult(Result(label, latencies, clock.Elapsed.TotalSeconds, aborted));
            }
            catch (Exception error)
            {
                done.SetException(error);
            }
        }) { IsBackground = true };
        coordinator.Start();
        return done.Task;
    }

    private static async Task<LoadResult> RunAsyncAsync(string connectionString, string operation, TimeSpan duration, CancellationToken cancellationToken)
    {
        var label = $"async {operation}";
        var connections = new List<KhonsuConnection>();
        long aborted = 0;
        try
        {
            for (var i = 0; i < Workers; i++)
            {
                var connection = new KhonsuConnection(connectionString);
                await connection.OpenAsync(cancellationToken);
                connections.Add(connection);
            }

            var clock = Stopwatch.StartNew();
            var latencies = await Task.WhenAll(connections.Select((connection, i) => Task.Run(
                async () =>
                {
                    var random = new Random(i * 7919);
                    var mine = new List<double>();
                    while (clock.Elapsed < duration)
                    {
                        var started = clock.Elapsed;
                        var id = random.Next(1, BenchEnvironment.Accounts + 1);
                        try
                        {
                            await RunOnceAsync(connection, operation, id, cancellationToken);
                        }
                        catch (Exception error) when (LoadDriver.IsTransient(error))
                        {
                            Interlocked.Increment(ref aborted);
                            continue;
                        }

                        mine.Add((clock.Elapsed - started).TotalMilliseconds);
                    }

                    return mine;
                },
                cancellationToken)));
            return Result(label, latencies, clock.Elapsed.TotalSeconds, aborted);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private static LoadResult Result(string label, IEnumerable<List<double>> perWorker, double seconds, long aborted)
    {
        var sorted = perWorker.SelectMany(l => l).Order().ToArray();
        return new LoadResult(label, Workers, seconds, sorted.Length, aborted, sorted.Length == 0 ? double.NaN : sorted.Average(), LoadDriver.Percentile(sorted, 0.50), LoadDriver.Percentile(sorted, 0.99));
    }
}
