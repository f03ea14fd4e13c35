using System.Diagnostics;
using Dapper;
using Khonsu.Data;

namespace Khonsu.Benchmarks;

/// <summary>
/// The sync-over-async section: Dapper's synchronous <c>Execute</c> (an autocommit UPDATE of a
/// random row, a certified Khonsu transaction of its own) and <c>Query</c> (a point SELECT) from
/// <see cref="Workers"/> dedicated threads, against the asynchronous <c>ExecuteAsync</c> and
/// <c>QueryAsync</c> from as many tasks, through Khonsu over PostgreSQL, with the thread pool's
/// default settings. A synchronous call that blocks a pool thread on an asynchronous path starves
/// the pool: it shows as a low sync / async throughput and a long p99.
/// </summary>
internal sealed class SyncAsyncSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private const int Workers = 32;

    private static readonly string[] Operations = ["execute", "query"];

    /// <summary>Every ratio this section prints (RatioReport checks that none is missing).</summary>
    public static IEnumerable<string> RatioIds()
        => from operation in Operations
           from id in new[] { "throughput", "p99" }
           select $"sync.postgres.{operation}.{id}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        report.Section($"Sync against async through Dapper ({Workers} threads against {Workers} tasks, default thread pool): Khonsu over PostgreSQL");
        var connectionString = environment.KhonsuPostgresOnly();
        await environment.OpenOnceAsync(connectionString, cancellationToken);
        var rounds = options.Quick ? 1 : 3;
        var duration = options.Quick ? options.RunDuration : options.RunDuration / 2;
        foreach (var operation in Operations)
        {
            var execute = operation == "execute";
            await RunSyncAsync(connectionString, execute, options.WarmupDuration);
            await RunAsyncAsync(connectionString, execute, options.WarmupDuration, cancellationToken);
            var sync = new List<LoadResult>();
            var async = new List<LoadResult>();
            for (var round = 0; round < rounds; round++)
            {
                // Interleaved, so that a burst of foreign load on this shared machine hits both alike.
                sync.Add(await RunSyncAsync(connectionString, execute, duration));
                async.Add(await RunAsyncAsync(connectionString, execute, duration, cancellationToken));
            }

            var s = sync.OrderBy(r => r.Throughput).ElementAt(rounds / 2);
            var a = async.OrderBy(r => r.Throughput).ElementAt(rounds / 2);
            report.Figure($"sync.postgres.{operation} {s} (median of {rounds} round(s))");
            report.Figure($"sync.postgres.{operation} {a} (median of {rounds} round(s))");
            report.Ratio($"sync.postgres.{operation}.throughput", s.Throughput / a.Throughput, $"{Name(operation)}/s, sync from {Workers} threads / async from {Workers} tasks");
            report.Ratio($"sync.postgres.{operation}.p99", s.P99Ms / a.P99Ms, $"p99 latency of {Name(operation)}, sync from {Workers} threads / async from {Workers} tasks");
        }
    }

    private static string Name(string operation) => operation == "execute" ? "Dapper Execute (autocommit UPDATE)" : "Dapper Query (point SELECT)";

    private static Task<LoadResult> RunSyncAsync(string connectionString, bool execute, TimeSpan duration)
    {
        var label = execute ? "sync Execute" : "sync Query";
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
                            if (execute)
                            {
                                connection.Execute("UPDATE pg_accounts SET balance = balance + 1 WHERE id = @id", new { id });
                            }
                            else
                            {
                                connection.Query<long>("SELECT balance FROM pg_accounts WHERE id = @id", new { id }).AsList();
                            }
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

    private static async Task<LoadResult> RunAsyncAsync(string connectionString, bool execute, TimeSpan duration, CancellationToken cancellationToken)
    {
        var label = execute ? "async ExecuteAsync" : "async QueryAsync";
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
                            if (execute)
                            {
                                await connection.ExecuteAsync(new CommandDefinition("UPDATE pg_accounts SET balance = balance + 1 WHERE id = @id", new { id }, cancellationToken: cancellationToken));
                            }
                            else
                            {
                                (await connection.QueryAsync<long>(new CommandDefinition("SELECT balance FROM pg_accounts WHERE id = @id", new { id }, cancellationToken: cancellationToken))).AsList();
                            }
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
