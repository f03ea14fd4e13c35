using System.Data.Common;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>One client's connection(s) and one attempt of its transaction; throws on an abort.</summary>
internal interface ILoadClient : IAsyncDisposable
{
    Task RunOnceAsync(Random random, CancellationToken cancellationToken);

    /// <summary>
    /// How long the commit step of the last successful <see cref="RunOnceAsync"/> took, for clients
    /// that time it (NaN otherwise): the part of a transaction that the commit log changes.
    /// </summary>
    double LastCommitMs => double.NaN;
}

/// <summary>
/// What a load run measured: committed transactions, aborted attempts, latency of committed ones
/// (retries included) and, for clients that time it, of their successful commit step alone.
/// </summary>
internal sealed record LoadResult(string Label, int Clients, double Seconds, long Committed, long Aborted, double MeanMs, double P50Ms, double P99Ms)
{
    public double CommitP50Ms { get; init; } = double.NaN;

    public double CommitP99Ms { get; init; } = double.NaN;

    /// <summary>
    /// Bytes the process allocated per committed transaction during the run, on every thread: the
    /// client's statements, the provider under it and, for Khonsu, its background work (log
    /// writer, sweeper). The driver's own bookkeeping is the same on both sides of a comparison.
    /// </summary>
    public double AllocatedBytesPerTx { get; init; } = double.NaN;

    public double Throughput => Seconds > 0 ? Committed / Seconds : 0;

    public double AbortFraction => Committed + Aborted == 0 ? double.NaN : (double)Aborted / (Committed + Aborted);

    public override string ToString()
        => $"{Label}, {Clients} client(s): {RatioReport.N(Throughput, "0")} tx/s, latency mean {RatioReport.N(MeanMs, "0.00")} ms p50 {RatioReport.N(P50Ms, "0.00")} p99 {RatioReport.N(P99Ms, "0.00")}, {Committed} committed, {Aborted} aborted attempts ({RatioReport.N(100 * AbortFraction, "0.0")}%){(double.IsNaN(AllocatedBytesPerTx) ? "" : $", {RatioReport.N(AllocatedBytesPerTx / 1024, "0.0")} KiB allocated/tx")}{(double.IsNaN(CommitP50Ms) ? "" : $", commit step p50 {RatioReport.N(CommitP50Ms, "0.00")} p99 {RatioReport.N(CommitP99Ms, "0.00")} ms")}";
}

/// <summary>
/// The end-to-end load driver: N clients, each on its own connection(s), run transactions back to
/// back for a fixed time. A transient failure (serialization failure, deadlock, SQLite busy)
/// counts as an aborted attempt and the transaction is retried after the same jittered backoff
/// for Khonsu and for every baseline.
/// </summary>
internal static class LoadDriver
{
    public static async Task<LoadResult> RunAsync(string label, int clients, TimeSpan duration, Func<CancellationToken, Task<ILoadClient>> connect, CancellationToken cancellationToken)
    {
        var opened = new List<ILoadClient>(clients);
        try
        {
            for (var i = 0; i < clients; i++)
            {
                opened.Add(await connect(cancellationToken));
            }

            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            var outcomes = await Task.WhenAll(opened.Select((client, i) => Task.Run(() => RunClientAsync(client, new Random(i * 7919 + clients), clock, duration, cancellationToken), cancellationToken)));
            var seconds = clock.Elapsed.TotalSeconds;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var latencies = outcomes.SelectMany(o => o.Latencies).Order().ToArray();
            var commits = outcomes.SelectMany(o => o.Commits).Order().ToArray();
            return new LoadResult(
                label,
                clients,
                seconds,
                outcomes.Sum(o => o.Latencies.Count),
                outcomes.Sum(o => o.Aborted),
                latencies.Length == 0 ? double.NaN : latencies.Average(),
                Percentile(latencies, 0.50),
                Percentile(latencies, 0.99))
            {
                CommitP50Ms = Percentile(commits, 0.50),
                CommitP99Ms = Percentile(commits, 0.99),
                AllocatedBytesPerTx = latencies.Length == 0 ? double.NaN : allocated / (double)latencies.Length,
            };
        }
        finally
        {
            foreach (var client in opened)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static async Task<(List<double> Latencies, List<double> Commits, long Aborted)> RunClientAsync(ILoadClient client, Random random, Stopwatch clock, TimeSpan duration, CancellationToken cancellationToken)
    {
        var latencies = new List<double>();
        var commits = new List<double>();
        long aborted = 0;
        while (clock.Elapsed < duration)
        {
            var started = clock.Elapsed;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await client.RunOnceAsync(random, cancellationToken);
                    latencies.Add((clock.Elapsed - started).TotalMilliseconds);
                    if (!double.IsNaN(client.LastCommitMs))
                    {
                        commits.Add(client.LastCommitMs);
                    }

                    break;
                }
                catch (Exception e) when (IsTransient(e))
                {
                    aborted++;
                    if (clock.Elapsed >= duration)
                    {
                        break;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(random.NextDouble() * Math.Min(50, 1 << Math.Min(attempt, 6))), cancellationToken);
                }
            }
        }

        return (latencies, commits, aborted);
    }

    /// <summary>An abort worth retrying: what each provider reports for a serialization failure or lock conflict.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        PostgresException p => p.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.LockNotAvailable,
        SqliteException s => s.SqliteErrorCode is 5 or 6, // SQLITE_BUSY (incl. BUSY_SNAPSHOT), SQLITE_LOCKED
        DbException d => d.IsTransient,
        _ => false,
    };

    public static double Percentile(double[] sorted, double p)
        => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1 < 0 ? 0 : (int)Math.Ceiling(p * sorted.Length) - 1)];
}
