namespace Khonsu.Benchmarks;

/// <summary>
/// The autocommit section: a single-row INSERT or UPDATE run with no transaction, through Khonsu
/// with <c>Autocommit=Transaction</c> (the default: the statement is a certified Khonsu transaction
/// of its own), through Khonsu with <c>Autocommit=Direct</c> (straight on the backend, uncertified),
/// and through the raw provider, side by side in one run, at 1 and 8 clients.
/// </summary>
internal sealed class AutocommitSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private const int Clients = 8;

    private static readonly string[] Backends = ["sqlite", "postgres"];

    private static readonly string[] Statements = ["insert", "update"];

    /// <summary>Every ratio this section prints (RatioReport checks that none is missing).</summary>
    public static IEnumerable<string> RatioIds()
        => from backend in Backends
           from statement in Statements
           from id in new[] { "latency.c1", "direct-latency.c1", $"throughput.c{Clients}", $"direct-throughput.c{Clients}" }
           select $"autocommit.{backend}.{statement}.{id}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        report.Section($"Autocommit single-row writes (load driver, 1 and {Clients} clients): Khonsu Autocommit=Transaction and =Direct against the raw provider");
        var sqliteTable = BenchEnvironment.SqliteTable(1);
        var sqlite = environment.KhonsuSqliteOnly(1);
        var sqliteDirect = environment.KhonsuSqliteOnly(1, autocommitDirect: true);
        var postgres = environment.KhonsuPostgresOnly();
        var postgresDirect = environment.KhonsuPostgresOnly(autocommitDirect: true);
        foreach (var connectionString in new[] { sqlite, sqliteDirect, postgres, postgresDirect })
        {
            await environment.OpenOnceAsync(connectionString, cancellationToken);
        }

        foreach (var statement in Statements)
        {
            var insert = statement == "insert";
            await CompareAsync(
                $"autocommit.sqlite.{statement}",
                $"SQLite autocommit {statement.ToUpperInvariant()}",
                token => AutocommitClient.KhonsuAsync(sqlite, sqliteTable, insert, token),
                token => AutocommitClient.KhonsuAsync(sqliteDirect, sqliteTable, insert, token),
                ("raw Microsoft.Data.Sqlite", token => AutocommitClient.RawSqliteAsync(environment.RawSqlitePath(1), sqliteTable, insert, token)),
                cancellationToken);
            await CompareAsync(
                $"autocommit.postgres.{statement}",
                $"PostgreSQL autocommit {statement.ToUpperInvariant()}",
                token => AutocommitClient.KhonsuAsync(postgres, "pg_accounts", insert, token),
                token => AutocommitClient.KhonsuAsync(postgresDirect, "pg_accounts", insert, token),
                ("raw Npgsql", token => AutocommitClient.RawPostgresAsync(environment.RawPostgres, "pg_accounts", insert, token)),
                cancellationToken);
        }
    }

    private async Task CompareAsync(
        string id,
        string what,
        Func<CancellationToken, Task<ILoadClient>> certified,
        Func<CancellationToken, Task<ILoadClient>> direct,
        (string Label, Func<CancellationToken, Task<ILoadClient>> Connect) raw,
        CancellationToken cancellationToken)
    {
        // Single statements are short and this machine is shared: each side runs in several short
        // rounds, interleaved with the others, and the median round of each side counts (the p50
        // latency at 1 client, throughput at 8), so a burst of foreign load hits every side alike.
        var rounds = options.Quick ? 1 : 3;
        var duration = options.Quick ? options.RunDuration : options.RunDuration / 3;
        var sides = new[] { ("Khonsu, Autocommit=Transaction", certified), ("Khonsu, Autocommit=Direct", direct), raw };
        foreach (var (_, connect) in sides)
        {
            await LoadDriver.RunAsync("warm-up", 1, options.WarmupDuration, connect, cancellationToken);
        }

        foreach (var clients in new[] { 1, Clients })
        {
            var runs = sides.Select(_ => new List<LoadResult>()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                for (var side = 0; side < sides.Length; side++)
                {
                    runs[side].Add(await LoadDriver.RunAsync(sides[side].Item1, clients, duration, sides[side].Item2, cancellationToken));
                }
            }

            Func<LoadResult, double> metric = clients == 1 ? r => r.P50Ms : r => r.Throughput;
            var medians = runs.Select(side => side.OrderBy(metric).ElementAt(side.Count / 2)).ToArray();
            foreach (var median in medians)
            {
                report.Figure($"{id} {what}: {median} (median of {rounds} round(s))");
            }

            var (k, d, b) = (medians[0], medians[1], medians[2]);
            if (clients == 1)
            {
                report.Ratio($"{id}.latency.c1", k.P50Ms / b.P50Ms, $"p50 latency at 1 client, Khonsu Autocommit=Transaction / {raw.Label}");
                report.Ratio($"{id}.direct-latency.c1", d.P50Ms / b.P50Ms, $"p50 latency at 1 client, Khonsu Autocommit=Direct / {raw.Label}");
            }
            else
            {
                report.Ratio($"{id}.throughput.c{clients}", k.Throughput / b.Throughput, $"statements/s at {clients} clients, Khonsu Autocommit=Transaction / {raw.Label}");
                report.Ratio($"{id}.direct-throughput.c{clients}", d.Throughput / b.Throughput, $"statements/s at {clients} clients, Khonsu Autocommit=Direct / {raw.Label}");
            }
        }
    }
}
