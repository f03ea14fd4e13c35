using System.Diagnostics;
using Dapper;
using Khonsu.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>
/// The liveness section: workers move money between two databases in random directions, so half
/// the transfers take their locks in the opposite order of the other half, over ten hot rows per
/// table, the money-transfer sample's shape. Khonsu runs each transfer with
/// <see cref="KhonsuConnection.RunInTransactionAsync{T}"/> (deadlocks are broken by Khonsu, and a
/// transfer that keeps losing grows older until it wins); the baseline is a careful hand-written
/// two-phase commit that takes its locks in one global order (the first database, then the
/// second), so it never deadlocks. Reported per pair of databases and worker count: committed
/// transfers/s, aborted attempts, and the worst latency of any single transfer, retries included:
/// the figure that shows starvation.
/// </summary>
internal sealed class LivenessSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private const int HotRows = 10;

    private static readonly int[] Workers = [8, 32, 128];

    private static readonly string[] Pairs = ["sqlite-sqlite", "sqlite-postgres"];

    /// <summary>Every ratio this section prints (RatioReport checks that none is missing).</summary>
    public static IEnumerable<string> RatioIds()
        => from pair in Pairs
           from workers in Workers
           from id in new[] { "throughput", "worst-latency" }
           select $"liveness.{pair}.{id}.c{workers}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        report.Section($"Liveness: transfers in opposite orders over {HotRows} hot rows, Khonsu (RunInTransactionAsync) against hand-written 2PC with a fixed lock order");
        var (khonsuPostgres, rawPostgres) = (await environment.CreateScratchPostgresAsync("lv_k", "lv_accounts", HotRows, cancellationToken), await environment.CreateScratchPostgresAsync("lv_r", "lv_accounts", HotRows, cancellationToken));
        var files = new Dictionary<string, string>();
        foreach (var name in new[] { "lv_k1", "lv_k2", "lv_r1", "lv_r2" })
        {
            files[name] = Path.Combine(environment.Directory, name + ".db");
            await using var connection = await BenchEnvironment.OpenRawSqliteAsync(files[name], cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                $"PRAGMA journal_mode = WAL; CREATE TABLE lv_accounts_{name[^1]} (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); " +
                $"WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < {HotRows}) INSERT INTO lv_accounts_{name[^1]} SELECT id, 1000000 FROM n",
                cancellationToken: cancellationToken));
        }

        foreach (var pair in Pairs)
        {
            var postgres = pair == "sqlite-postgres";
            var khonsu = environment.Remember(
                $"Khonsu:Sqlite.a=\"Data Source={files["lv_k1"]}\";" +
                (postgres ? $"Postgres.b=\"{khonsuPostgres}\"" : $"Sqlite.b=\"Data Source={files["lv_k2"]}\"") +
                $";{environment.EmbeddedLog("lv-" + pair)};RecoveryInterval=0",
                files["lv_k1"],
                postgres ? khonsuPostgres : files["lv_k2"]);
            var (first, second) = ("lv_accounts_1", postgres ? "lv_accounts" : "lv_accounts_2");
            await environment.OpenOnceAsync(khonsu, cancellationToken);
            foreach (var workers in Workers)
            {
                var ours = await RunAsync($"Khonsu {pair}", workers, token => KhonsuTransfer.ConnectAsync(khonsu, first, second, fixedOrder: false, token), cancellationToken);
                await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(khonsu));
                var oursOrdered = await RunAsync($"Khonsu {pair}, statements in the fixed order", workers, token => KhonsuTransfer.ConnectAsync(khonsu, first, second, fixedOrder: true, token), cancellationToken);
                await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(khonsu));
                var theirs = await RunAsync(
                    $"hand-written 2PC, fixed lock order, {pair}",
                    workers,
                    token => FixedOrderTransfer.ConnectAsync(files["lv_r1"], postgres ? null : files["lv_r2"], postgres ? rawPostgres : null, environment.DecisionsPath, first, second, token),
                    cancellationToken);
                NpgsqlConnection.ClearAllPools();
                report.Figure(ours.ToString());
                report.Figure(oursOrdered.ToString());
                report.Figure(theirs.ToString());
                report.Ratio($"liveness.{pair}.throughput.c{workers}", ours.Throughput / theirs.Throughput, $"committed transfers/s, Khonsu / fixed-order 2PC, {workers} workers");
                report.Ratio($"liveness.{pair}.worst-latency.c{workers}", ours.WorstMs / theirs.WorstMs, $"worst latency of one transfer, retries included, Khonsu / fixed-order 2PC, {workers} workers");
            }
        }
    }

    /// <summary>Runs <paramref name="workers"/> workers for the run's duration, each transfer to its end whatever it takes.</summary>
    private async Task<LivenessResult> RunAsync(string label, int workers, Func<CancellationToken, Task<ITransfer>> connect, CancellationToken cancellationToken)
    {
        var transfers = new List<ITransfer>(workers);
        try
        {
            for (var i = 0; i < workers; i++)
            {
                transfers.Add(await connect(cancellationToken));
            }

            var clock = Stopwatch.StartNew();
            var duration = options.WarmupDuration + options.RunDuration;
            var outcomes = await Task.WhenAll(transfers.Select((transfer, i) => Task.Run(() => WorkAsync(transfer, new Random(i * 104729 + workers), clock, duration, cancellationToken), cancellationToken)));
            var measured = outcomes.SelectMany(o => o).Where(t => t.Started >= options.WarmupDuration).ToList();
            var latencies = measured.Select(t => t.Ms).Order().ToArray();
            return new LivenessResult(
                label,
                workers,
                (clock.Elapsed - options.WarmupDuration).TotalSeconds,
                measured.Count,
                measured.Sum(t => t.Attempts - 1),
                latencies.Length == 0 ? double.NaN : latencies[latencies.Length / 2],
                latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)(latencies.Length * 0.99))],
                latencies.Length == 0 ? double.NaN : latencies[^1]);
        }
        finally
        {
            foreach (var transfer in transfers)
            {
                await transfer.DisposeAsync();
            }
        }
    }

    private static async Task<List<(TimeSpan Started, double Ms, int Attempts)>> WorkAsync(ITransfer transfer, Random random, Stopwatch clock, TimeSpan duration, CancellationToken cancellationToken)
    {
        var done = new List<(TimeSpan, double, int)>();
        while (clock.Elapsed < duration)
        {
            var started = clock.Elapsed;
            var debitFirst = random.Next(2) == 0;
            var (debit, credit, amount) = (random.Next(1, HotRows + 1), random.Next(1, HotRows + 1), random.Next(1, 100));
            var attempts = await transfer.RunAsync(debitFirst, debit, credit, amount, cancellationToken);
            done.Add((started, (clock.Elapsed - started).TotalMilliseconds, attempts));
        }

        return done;
    }

    private sealed record LivenessResult(string Label, int Workers, double Seconds, long Committed, long Aborted, double P50Ms, double P99Ms, double WorstMs)
    {
        public double Throughput => Seconds > 0 ? Committed / Seconds : 0;

        public override string ToString()
            => $"{Label}, {Workers} workers: {RatioReport.N(Throughput, "0")} transfers/s, {Committed} committed, {Aborted} aborted attempts, latency p50 {RatioReport.N(P50Ms, "0.0")} p99 {RatioReport.N(P99Ms, "0.0")} worst {RatioReport.N(WorstMs, "0.0")} ms";
    }

    /// <summary>One worker's connections; runs one transfer to its end and says how many attempts it took.</summary>
    private interface ITransfer : IAsyncDisposable
    {
        /// <param name="fromFirst">Money moves from the first database's table to the second's (else the other way round).</param>
        Task<int> RunAsync(bool fromFirst, int debit, int credit, int amount, CancellationToken cancellationToken);
    }

    /// <summary>
    /// Through Khonsu, retried by RunInTransactionAsync: the statements in the transfer's own order,
    /// or, with <paramref name="fixedOrder"/>, the first database's statement first whatever the
    /// direction (what the baseline does by hand, for comparison).
    /// </summary>
    private sealed class KhonsuTransfer(KhonsuConnection connection, string first, string second, bool fixedOrder) : ITransfer
    {
        private static readonly KhonsuRetryOptions Retry = new() { MaxAttempts = 20 };

        public static async Task<ITransfer> ConnectAsync(string connectionString, string first, string second, bool fixedOrder, CancellationToken cancellationToken)
        {
            var connection = new KhonsuConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            return new KhonsuTransfer(connection, first, second, fixedOrder);
        }

        public async Task<int> RunAsync(bool fromFirst, int debit, int credit, int amount, CancellationToken cancellationToken)
        {
            var debitSql = $"UPDATE {(fromFirst ? first : second)} SET balance = balance - @amount WHERE id = @debit";
            var creditSql = $"UPDATE {(fromFirst ? second : first)} SET balance = balance + @amount WHERE id = @credit";
            var (one, two) = fixedOrder && !fromFirst ? (creditSql, debitSql) : (debitSql, creditSql);
            var attempts = 0;
            await connection.RunInTransactionAsync(
                async (transaction, token) =>
                {
                    attempts++;
                    await connection.ExecuteAsync(new CommandDefinition(one, new { amount, debit, credit }, transaction, cancellationToken: token));
                    await connection.ExecuteAsync(new CommandDefinition(two, new { amount, debit, credit }, transaction, cancellationToken: token));
                },
                Retry,
                cancellationToken);
            return attempts;
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    /// <summary>
    /// The hand-written baseline: whatever the transfer's direction, it locks the first database,
    /// then the second (a SQLite file: an in-process gate, then BEGIN IMMEDIATE; PostgreSQL: its row
    /// lock, taken by the UPDATE), so no two transfers ever wait for each other in a cycle. Then the
    /// same two statements, PREPARE TRANSACTION on PostgreSQL, a durable decision record (one fsync
    /// per transfer), and the commits. Every transfer that holds the first file's lock runs alone
    /// until it commits: that order is what it pays for never deadlocking.
    /// </summary>
    private sealed class FixedOrderTransfer(SqliteConnection firstFile, SqliteConnection? secondFile, NpgsqlConnection? postgres, SqliteConnection decisions, string first, string second) : ITransfer
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> Gates = new();

        public static async Task<ITransfer> ConnectAsync(string firstPath, string? secondPath, string? postgresConnectionString, string decisionsPath, string first, string second, CancellationToken cancellationToken)
        {
            var firstFile = await BenchEnvironment.OpenRawSqliteAsync(firstPath, cancellationToken);
            var secondFile = secondPath is null ? null : await BenchEnvironment.OpenRawSqliteAsync(secondPath, cancellationToken);
            NpgsqlConnection? postgres = null;
            if (postgresConnectionString is not null)
            {
                postgres = new NpgsqlConnection(postgresConnectionString);
                await postgres.OpenAsync(cancellationToken);
            }

            return new FixedOrderTransfer(firstFile, secondFile, postgres, await BenchEnvironment.OpenRawSqliteAsync(decisionsPath, cancellationToken), first, second);
        }

        public async Task<int> RunAsync(bool fromFirst, int debit, int credit, int amount, CancellationToken cancellationToken)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await TransferAsync(fromFirst, debit, credit, amount, cancellationToken);
                    return attempt;
                }
                catch (Exception e) when (LoadDriver.IsTransient(e))
                {
                    // Not expected with a global lock order; counted as an aborted attempt if it happens.
                }
            }
        }

        private async Task TransferAsync(bool fromFirst, int debit, int credit, int amount, CancellationToken cancellationToken)
        {
            var gid = "lv_" + Guid.NewGuid().ToString("N");
            var firstGate = Gates.GetOrAdd(firstFile.DataSource, _ => new SemaphoreSlim(1, 1));
            var secondGate = secondFile is null ? null : Gates.GetOrAdd(secondFile.DataSource, _ => new SemaphoreSlim(1, 1));
            await firstGate.WaitAsync(cancellationToken);
            var secondGateHeld = false;
            SqliteTransaction? firstLocal = null, secondLocal = null;
            var prepared = false;
            try
            {
                firstLocal = firstFile.BeginTransaction(deferred: false);
                if (secondGate is not null)
                {
                    await secondGate.WaitAsync(cancellationToken);
                    secondGateHeld = true;
                    secondLocal = secondFile!.BeginTransaction(deferred: false);
                }
                else
                {
                    // READ COMMITTED: the global order already serialises every writer of these rows.
                    await postgres!.ExecuteAsync(new CommandDefinition("BEGIN ISOLATION LEVEL READ COMMITTED", cancellationToken: cancellationToken));
                }

                // The statements in the transfer's own order; the locks were taken in the global one.
                await RunOnAsync(fromFirst, Statement(fromFirst ? first : second, debit: true), debit, amount, firstLocal, secondLocal, cancellationToken);
                await RunOnAsync(!fromFirst, Statement(fromFirst ? second : first, debit: false), credit, amount, firstLocal, secondLocal, cancellationToken);
                if (postgres is not null)
                {
                    await postgres.ExecuteAsync(new CommandDefinition($"PREPARE TRANSACTION '{gid}'", cancellationToken: cancellationToken));
                    prepared = true;
                }

                await decisions.ExecuteAsync(new CommandDefinition("INSERT INTO decisions (gid, decided_at) VALUES (@gid, 'now')", new { gid }, cancellationToken: cancellationToken));
                await firstLocal.CommitAsync(cancellationToken);
                if (secondLocal is not null)
                {
                    await secondLocal.CommitAsync(cancellationToken);
                }
            }
            catch
            {
                if (postgres is not null)
                {
                    await postgres.ExecuteAsync(prepared ? $"ROLLBACK PREPARED '{gid}'" : "ROLLBACK");
                }

                throw;
            }
            finally
            {
                secondLocal?.Dispose();
                firstLocal?.Dispose();
                if (secondGateHeld)
                {
                    secondGate!.Release();
                }

                firstGate.Release();
            }

            if (postgres is not null)
            {
                await postgres.ExecuteAsync(new CommandDefinition($"COMMIT PREPARED '{gid}'", cancellationToken: cancellationToken));
            }
        }

        private static string Statement(string table, bool debit) => $"UPDATE {table} SET balance = balance {(debit ? "-" : "+")} @amount WHERE id = @id";

        /// <summary>On the first database (<paramref name="onFirst"/>) or the second.</summary>
        private Task RunOnAsync(bool onFirst, string sql, int id, int amount, SqliteTransaction firstLocal, SqliteTransaction? secondLocal, CancellationToken cancellationToken)
            => onFirst
                ? firstFile.ExecuteAsync(new CommandDefinition(sql, new { id, amount }, firstLocal, cancellationToken: cancellationToken))
                : secondLocal is not null
                    ? secondFile!.ExecuteAsync(new CommandDefinition(sql, new { id, amount }, secondLocal, cancellationToken: cancellationToken))
                    : postgres!.ExecuteAsync(new CommandDefinition(sql, new { id, amount }, cancellationToken: cancellationToken));

        public async ValueTask DisposeAsync()
        {
            await firstFile.DisposeAsync();
            if (secondFile is not null)
            {
                await secondFile.DisposeAsync();
            }

            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }

            await decisions.DisposeAsync();
        }
    }
}
