using Khonsu.Testing;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>
/// The round-trips section: how many times a transaction waits for PostgreSQL, through Khonsu and
/// through the raw provider, counted on the wire by a relay in front of the server
/// (<see cref="TcpRelay"/>) over transactions run one after another, so that nothing else
/// shares the connections. Every connection that went through the relay counts, background work
/// included: what a transaction costs is what the server sees.
/// </summary>
internal sealed class RoundTripSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private static readonly string[] Workloads = ["rmw", "autocommit-update", "transfer"];

    /// <summary>Every ratio this section prints: round trips per transaction, Khonsu's minus the baseline's.</summary>
    public static IEnumerable<string> RatioIds() => Workloads.Select(w => $"roundtrips.postgres.{w}.extra");

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        report.Section("Round trips to PostgreSQL per transaction (counted on the wire, 1 client): Khonsu against the raw provider");
        var transactions = options.Quick ? 20 : 200;
        var khonsuDatabase = await environment.CreateScratchPostgresAsync("rtk", "pg_accounts", BenchEnvironment.Accounts, cancellationToken);
        var rawDatabase = await environment.CreateScratchPostgresAsync("rtr", "pg_accounts", BenchEnvironment.Accounts, cancellationToken);
        var sqlitePath = Path.Combine(environment.Directory, "rt1.db");
        await BenchEnvironment.CreateSqliteFileAsync(sqlitePath, BenchEnvironment.SqliteTable(1), cancellationToken);
        var server = new NpgsqlConnectionStringBuilder(khonsuDatabase);
        await using var proxy = new TcpRelay(server.Host!, server.Port);
        var khonsuThroughProxy = Proxied(khonsuDatabase, proxy);
        var rawThroughProxy = Proxied(rawDatabase, proxy);
        var khonsu = environment.Remember(
            $"Khonsu:Postgres.pg=\"{khonsuThroughProxy}\";Sqlite.s1=\"Data Source={sqlitePath}\";{environment.EmbeddedLog("rt")};RecoveryInterval=0",
            khonsuDatabase,
            sqlitePath);
        await environment.OpenOnceAsync(khonsu, cancellationToken);

        foreach (var workload in Workloads)
        {
            Func<CancellationToken, Task<ILoadClient>> khonsuClient = workload switch
            {
                "rmw" => token => KhonsuRmwClient.ConnectAsync(khonsu, "pg_accounts", BenchEnvironment.Accounts, token),
                "autocommit-update" => token => AutocommitClient.KhonsuAsync(khonsu, "pg_accounts", insert: false, token),
                _ => token => KhonsuTransferClient.ConnectAsync(khonsu, 1, token),
            };
            Func<CancellationToken, Task<ILoadClient>> rawClient = workload switch
            {
                "rmw" => token => RawPostgresRmwClient.ConnectAsync(rawThroughProxy, "pg_accounts", BenchEnvironment.Accounts, System.Data.IsolationLevel.RepeatableRead, 1, token),
                "autocommit-update" => token => AutocommitClient.RawPostgresAsync(rawThroughProxy, "pg_accounts", insert: false, token),
                _ => token => HandTwoPhaseClient.ConnectAsync(environment, 1, token, rawThroughProxy),
            };

            var k = await CountAsync(proxy, khonsuClient, transactions, cancellationToken);
            var b = await CountAsync(proxy, rawClient, transactions, cancellationToken);
            var baseline = workload == "transfer" ? "hand-written 2PC" : "raw Npgsql";
            report.Figure($"roundtrips.postgres.{workload}: Khonsu {RatioReport.N(k, "0.00")}, {baseline} {RatioReport.N(b, "0.00")} round trips per transaction ({transactions} transactions each)");
            report.Ratio($"roundtrips.postgres.{workload}.extra", k - b, $"round trips to PostgreSQL per transaction, Khonsu minus {baseline} (a difference, not a ratio)");
        }
    }

    private static string Proxied(string connectionString, TcpRelay proxy)
        => new NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;

    /// <summary>Round trips per transaction over <paramref name="transactions"/> run after a warm-up (catalogs and plans cached).</summary>
    private static async Task<double> CountAsync(TcpRelay proxy, Func<CancellationToken, Task<ILoadClient>> connect, int transactions, CancellationToken cancellationToken)
    {
        var random = new Random(7);
        await using var client = await connect(cancellationToken);
        for (var i = 0; i < 20; i++)
        {
            await client.RunOnceAsync(random, cancellationToken);
        }

        var before = proxy.RoundTrips;
        for (var i = 0; i < transactions; i++)
        {
            await client.RunOnceAsync(random, cancellationToken);
        }

        return (proxy.RoundTrips - before) / (double)transactions;
    }
}
