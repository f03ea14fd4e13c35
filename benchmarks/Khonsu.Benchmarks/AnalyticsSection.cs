using System.Diagnostics;
using Dapper;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>
/// The analytics section (issue 20): what a group-by over a million rows costs where the data
/// lives (PostgreSQL, SQLite) against a columnar DuckDB file, the mirror's default target. The
/// same rows in all three, generated in each database; each query runs interleaved, one engine
/// after another, and the median of the runs is compared. This is the price the mirror is for: an
/// analytics query should not run on the databases that serve transactions.
/// </summary>
internal sealed class AnalyticsSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private const string Query = "SELECT region, count(*), sum(amount), avg(amount) FROM orders GROUP BY region ORDER BY region";

    public static IEnumerable<string> RatioIds() => ["analytics.postgres-vs-duckdb.latency", "analytics.sqlite-vs-duckdb.latency"];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var rows = options.Quick ? 100_000 : 1_000_000;
        var runs = options.Quick ? 3 : 7;
        report.Section($"Analytics: a group-by over {rows:N0} rows in PostgreSQL, SQLite and DuckDB (the mirror's target), median of {runs} interleaved runs");

        var postgres = await environment.CreateScratchPostgresAsync("an", "an_unused", 0, cancellationToken);
        await using (var connection = new NpgsqlConnection(postgres))
        {
            await connection.OpenAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE orders (id bigint PRIMARY KEY, customer integer NOT NULL, region text NOT NULL, amount bigint NOT NULL); " +
                $"INSERT INTO orders SELECT i, i % 1000, 'r' || (i % 10), (i * 7919) % 1000 FROM generate_series(1::bigint, {rows}) i; ANALYZE orders",
                commandTimeout: 600,
                cancellationToken: cancellationToken));
        }

        var sqlitePath = Path.Combine(environment.Directory, "analytics.db");
        await using (var connection = new SqliteConnection($"Data Source={sqlitePath}"))
        {
            await connection.OpenAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "PRAGMA journal_mode = WAL; CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL, region TEXT NOT NULL, amount INTEGER NOT NULL); " +
                $"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) " +
                "INSERT INTO orders SELECT i, i % 1000, 'r' || (i % 10), (i * 7919) % 1000 FROM n",
                cancellationToken: cancellationToken));
        }

        var duckPath = Path.Combine(environment.Directory, "analytics.duckdb");
        await using (var connection = new DuckDBConnection($"Data Source={duckPath}"))
        {
            await connection.OpenAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer INTEGER NOT NULL, region VARCHAR NOT NULL, amount BIGINT NOT NULL); " +
                $"INSERT INTO orders SELECT i, i % 1000, 'r' || (i % 10), (i * 7919) % 1000 FROM range(1, {rows + 1}) t(i)",
                cancellationToken: cancellationToken));
        }

        var engines = new (string Name, Func<System.Data.Common.DbConnection> Connect)[]
        {
            ("postgres", () => new NpgsqlConnection(postgres)),
            ("sqlite", () => new SqliteConnection($"Data Source={sqlitePath};Mode=ReadOnly")),
            ("duckdb", () => new DuckDBConnection($"Data Source={duckPath};ACCESS_MODE=READ_ONLY")),
        };
        var times = engines.ToDictionary(e => e.Name, _ => new List<double>());
        var answers = new Dictionary<string, string>();
        var connections = new List<System.Data.Common.DbConnection>();
        try
        {
            // Each engine keeps its connection (and so DuckDB its open database and buffers, as a mirror would) across the runs.
            foreach (var (_, connect) in engines)
            {
                var connection = connect();
                connections.Add(connection);
                await connection.OpenAsync(cancellationToken);
            }

            for (var run = 0; run <= runs; run++)
            {
                for (var e = 0; e < engines.Length; e++)
                {
                    var clock = Stopwatch.StartNew();
                    var result = (await connections[e].QueryAsync<(string Region, long Count, decimal Sum, double Average)>(new CommandDefinition(Query, cancellationToken: cancellationToken))).ToList();
                    var elapsed = clock.Elapsed.TotalMilliseconds;
                    answers[engines[e].Name] = string.Join(";", result.Select(r => $"{r.Region}:{r.Count}:{r.Sum}"));
                    if (run > 0)
                    {
                        times[engines[e].Name].Add(elapsed); // run 0 warms caches and plans up
                    }
                }
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        if (answers.Values.Distinct(StringComparer.Ordinal).Count() != 1)
        {
            throw new InvalidOperationException($"The engines disagree on the group-by: {string.Join(" | ", answers.Select(a => $"{a.Key}={a.Value}"))}");
        }

        var median = times.ToDictionary(t => t.Key, t => Median(t.Value));
        foreach (var (name, ms) in median)
        {
            report.Figure($"analytics {name}: group-by over {rows:N0} rows, median {RatioReport.N(ms, "0.0")} ms ({string.Join(", ", times[name].Select(t => RatioReport.N(t, "0")))} ms)");
        }

        report.Ratio("analytics.postgres-vs-duckdb.latency", median["postgres"] / median["duckdb"], "group-by time, PostgreSQL / DuckDB");
        report.Ratio("analytics.sqlite-vs-duckdb.latency", median["sqlite"] / median["duckdb"], "group-by time, SQLite / DuckDB");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
