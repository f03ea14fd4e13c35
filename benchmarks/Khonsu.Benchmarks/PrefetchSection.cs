using System.Diagnostics;
using Dapper;
using Khonsu.Testing;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>
/// The prefetch section (issue 21): an N+1 read transaction across SQLite (orders, order_lines)
/// and PostgreSQL (customers, stock) with network latency between Khonsu and PostgreSQL, injected
/// by a relay that holds every segment, each way, 0.5 ms and then 2 ms (<see cref="TcpRelay.Delay"/>).
/// Prefetch off and on run side by side on copies of the same data, each with its own runtime:
/// round trips per transaction (counted on the wire, 1 client), latency and throughput at 1 and 8
/// clients (interleaved: off, on, on, off, averaged), and the model's precision and recall (from
/// Khonsu's own counters, khonsu.prefetch.*).
/// </summary>
internal sealed class PrefetchSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private const int Orders = 1_000;
    private const int Customers = 200;
    private const int Products = 2_000;
    private static readonly double[] DelaysMs = [0.5, 2];
    private static readonly int[] ClientCounts = [1, 8];

    public static IEnumerable<string> RatioIds()
        => DelaysMs.SelectMany(d => new[] { "roundtrips", "p50.c1", "p99.c1", "throughput.c1", "throughput.c8", "precision", "recall" }.Select(m => $"prefetch.{Id(d)}.{m}"));

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        report.Section("Prefetch: an order, its lines, its customer and the stock of each line (SQLite + PostgreSQL behind injected latency), prefetch off against on");
        var off = await CreateSideAsync("pfoff", prefetch: false, cancellationToken);
        var on = await CreateSideAsync("pfon", prefetch: true, cancellationToken);
        await using var offRelay = off.Relay;
        await using var onRelay = on.Relay;
        using var meter = new PrefetchMeter();
        var bare = await MeasureRoundTripAsync(on.ProxiedPostgres, cancellationToken);
        report.Figure($"prefetch: a bare SELECT 1 through the relay with no delay takes {RatioReport.N(bare, "0.00")} ms (p50 of 50)");
        foreach (var delay in DelaysMs)
        {
            off.Relay.Delay = on.Relay.Delay = TimeSpan.FromMilliseconds(delay);
            var rtt = await MeasureRoundTripAsync(on.ProxiedPostgres, cancellationToken);
            report.Figure($"prefetch.{Id(delay)}: {delay} ms held each way by the relay; a bare SELECT 1 through it takes {RatioReport.N(rtt, "0.00")} ms (p50 of 50)");
            await RunDelayAsync(delay, off, on, meter, cancellationToken);
        }
    }

    private async Task RunDelayAsync(double delay, Side off, Side on, PrefetchMeter meter, CancellationToken cancellationToken)
    {
        var id = Id(delay);
        var transactions = options.Quick ? 20 : 200;
        var before = meter.Counts;
        var offTrips = await CountRoundTripsAsync(off, transactions, cancellationToken);
        var onTrips = await CountRoundTripsAsync(on, transactions, cancellationToken);
        report.Figure($"prefetch.{id}.roundtrips: off {RatioReport.N(offTrips, "0.00")}, on {RatioReport.N(onTrips, "0.00")} round trips to PostgreSQL per transaction ({transactions} transactions each, 1 client)");
        report.Ratio($"prefetch.{id}.roundtrips", onTrips / offTrips, "round trips to PostgreSQL per transaction, prefetch on / off (goal at most 0.5)");

        foreach (var clients in ClientCounts)
        {
            var runs = new List<(bool On, LoadResult Result)>();
            foreach (var prefetching in new[] { false, true, true, false })
            {
                var side = prefetching ? on : off;
                runs.Add((prefetching, await LoadDriver.RunAsync(
                    $"prefetch {(prefetching ? "on" : "off")} at {delay} ms",
                    clients,
                    options.RunDuration,
                    token => PrefetchOrderClient.ConnectAsync(side.ConnectionString, Orders, token),
                    cancellationToken)));
            }

            foreach (var (_, result) in runs)
            {
                report.Note("  " + result);
            }

            var offRuns = runs.Where(r => !r.On).Select(r => r.Result).ToList();
            var onRuns = runs.Where(r => r.On).Select(r => r.Result).ToList();
            var (offP50, onP50) = (offRuns.Average(r => r.P50Ms), onRuns.Average(r => r.P50Ms));
            var (offP99, onP99) = (offRuns.Average(r => r.P99Ms), onRuns.Average(r => r.P99Ms));
            var (offTps, onTps) = (offRuns.Average(r => r.Throughput), onRuns.Average(r => r.Throughput));
            report.Figure($"prefetch.{id}.c{clients}: off {RatioReport.N(offTps, "0")} tx/s p50 {RatioReport.N(offP50, "0.00")} ms p99 {RatioReport.N(offP99, "0.00")} ms; on {RatioReport.N(onTps, "0")} tx/s p50 {RatioReport.N(onP50, "0.00")} ms p99 {RatioReport.N(onP99, "0.00")} ms");
            if (clients == 1)
            {
                report.Ratio($"prefetch.{id}.p50.c1", onP50 / offP50, "median transaction latency, 1 client, prefetch on / off (goal at most 0.6 at 2 ms)");
                report.Ratio($"prefetch.{id}.p99.c1", onP99 / offP99, "99th percentile latency, 1 client, prefetch on / off");
            }

            report.Ratio($"prefetch.{id}.throughput.c{clients}", onTps / offTps, $"committed transactions/s, {clients} client(s), prefetch on / off");
        }

        var after = meter.Counts;
        var precision = (after.Consumed - before.Consumed) / (double)(after.Judged - before.Judged);
        var recall = (after.Served - before.Served) / (double)(after.Reads - before.Reads);
        report.Figure($"prefetch.{id}: {after.Judged - before.Judged} statements prefetched, {after.Consumed - before.Consumed} consumed; {after.Reads - before.Reads} reads, {after.Served - before.Served} served from a prefetch");
        report.Ratio($"prefetch.{id}.precision", precision, "prefetched reads the application consumed, over those prefetched (a share, not a ratio)");
        report.Ratio($"prefetch.{id}.recall", recall, "the application's reads served from a prefetch, over all its reads (a share, not a ratio)");
    }

    private static async Task<double> CountRoundTripsAsync(Side side, int transactions, CancellationToken cancellationToken)
    {
        var random = new Random(11);
        await using var client = await PrefetchOrderClient.ConnectAsync(side.ConnectionString, Orders, cancellationToken);
        for (var i = 0; i < 20; i++)
        {
            await client.RunOnceAsync(random, cancellationToken);
        }

        var before = side.Relay.RoundTrips;
        for (var i = 0; i < transactions; i++)
        {
            await client.RunOnceAsync(random, cancellationToken);
        }

        return (side.Relay.RoundTrips - before) / (double)transactions;
    }

    private static async Task<double> MeasureRoundTripAsync(string proxied, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(proxied);
        await connection.OpenAsync(cancellationToken);
        var times = new double[50];
        for (var i = 0; i < times.Length; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken));
            times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        Array.Sort(times);
        return LoadDriver.Percentile(times, 0.5);
    }

    /// <summary>One side's data (a SQLite file, a PostgreSQL database), its relay and its Khonsu connection string.</summary>
    private async Task<Side> CreateSideAsync(string name, bool prefetch, CancellationToken cancellationToken)
    {
        var postgres = await environment.CreateScratchPostgresAsync(name, $"{name}_unused", 1, cancellationToken);
        await using (var connection = new NpgsqlConnection(postgres))
        {
            await connection.OpenAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL); " +
                $"INSERT INTO customers SELECT g, 'customer-' || g FROM generate_series(1, {Customers}) g; " +
                "CREATE TABLE stock (product_id integer PRIMARY KEY, qty integer NOT NULL); " +
                $"INSERT INTO stock SELECT g, 100 + g % 50 FROM generate_series(1, {Products}) g",
                cancellationToken: cancellationToken));
        }

        var sqlitePath = Path.Combine(environment.Directory, $"{name}.db");
        await using (var sqlite = await BenchEnvironment.OpenRawSqliteAsync(sqlitePath, cancellationToken))
        {
            await sqlite.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL", cancellationToken: cancellationToken));
            await sqlite.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL); " +
                "CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, product_id INTEGER NOT NULL, qty INTEGER NOT NULL); " +
                "CREATE INDEX order_lines_by_order ON order_lines (order_id); " +
                $"WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < {Orders}) " +
                $"INSERT INTO orders SELECT id, id % {Customers} + 1 FROM n; " +
                // 3 to 6 lines per order.
                "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 5) " +
                $"INSERT INTO order_lines (order_id, product_id, qty) SELECT o.id, (o.id * 7 + k.i * 13) % {Products} + 1, 1 + k.i FROM orders o JOIN k ON k.i < 3 + o.id % 4 ORDER BY o.id, k.i",
                cancellationToken: cancellationToken));
        }

        var server = new NpgsqlConnectionStringBuilder(postgres);
        var relay = new TcpRelay(server.Host!, server.Port);
        var proxied = new NpgsqlConnectionStringBuilder(postgres) { Host = "127.0.0.1", Port = relay.Port }.ConnectionString;
        var connectionString = environment.Remember(
            $"Khonsu:Sqlite.sales=\"Data Source={sqlitePath}\";Postgres.shop=\"{proxied}\";{environment.EmbeddedLog(name)};RecoveryInterval=0{(prefetch ? ";Prefetch=On" : "")}",
            postgres,
            sqlitePath);
        await environment.OpenOnceAsync(connectionString, cancellationToken);
        return new Side(connectionString, relay, proxied);
    }

    private static string Id(double delay) => delay.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture).Replace('.', '_') + "ms";

    private sealed record Side(string ConnectionString, TcpRelay Relay, string ProxiedPostgres);
}
