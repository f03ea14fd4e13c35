using Khonsu.Testing;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>
/// The round-trips section: how many times a transaction waits for PostgreSQL, through Khonsu and
/// through the raw provider, counted on the wire by a relay in front of the server
/// (<see cref="TcpRelay"/>) over transactions run one after another, so that nothing else
/// shares the connections. Every connection that went through the relay counts, background work
/// included: what a transaction costs is what the server sees. SQLite has no wire: there it counts
/// the statements run on the data files (<see cref="SqliteStatementCounter"/>), which are what a
/// transaction waits for there.
/// </summary>
internal sealed class RoundTripSection(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    private static readonly string[] Workloads = ["rmw", "autocommit-update", "transfer"];

    /// <summary>Every ratio this section prints: round trips (statements on SQLite) per transaction, Khonsu's minus the baseline's.</summary>
    public static IEnumerable<string> RatioIds() => Workloads.Select(w => $"roundtrips.postgres.{w}.extra").Concat(Workloads.Select(w => $"roundtrips.sqlite.{w}.extra"));

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
        var khonsuSqlitePath = Path.Combine(environment.Directory, "rt-khonsu.db");
        var rawSqlitePath = Path.Combine(environment.Directory, "rt-raw.db");
        await BenchEnvironment.CreateSqliteFileAsync(khonsuSqlitePath, BenchEnvironment.SqliteTable(1), cancellationToken);
        await BenchEnvironment.CreateSqliteFileAsync(rawSqlitePath, BenchEnvironment.SqliteTable(1), cancellationToken);
        var khonsuSqlite = environment.Remember(
            $"Khonsu:Sqlite.s1=\"Data Source={khonsuSqlitePath}\";{environment.EmbeddedLog("rts")};RecoveryInterval=0", khonsuSqlitePath);
        await environment.OpenOnceAsync(khonsuSqlite, cancellationToken);
        SqliteStatementCounter.Excluded.Add(Path.GetFileName(environment.DecisionsPath));
        SqliteStatementCounter.Start();
        try
        {
            await CountPostgresAsync(proxy, khonsu, rawThroughProxy, transactions, cancellationToken);
            await CountSqliteAsync(khonsuSqlite, rawSqlitePath, transactions, cancellationToken);
        }
        finally
        {
            SqliteStatementCounter.Stop();
        }
    }

    private async Task CountPostgresAsync(TcpRelay proxy, string khonsu, string rawThroughProxy, int transactions, CancellationToken cancellationToken)
    {

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
            report.Figure($"roundtrips.postgres.{workload}: Khonsu {RatioReport.N(k.Postgres, "0.00")}, {baseline} {RatioReport.N(b.Postgres, "0.00")} round trips per transaction ({transactions} transactions each)");
            report.Ratio($"roundtrips.postgres.{workload}.extra", k.Postgres - b.Postgres, $"round trips to PostgreSQL per transaction, Khonsu minus {baseline} (a difference, not a ratio)");
            if (workload == "transfer")
            {
                // The transfer's other side is a SQLite file: its statements, counted in the same runs.
                report.Figure($"roundtrips.sqlite.transfer: Khonsu {RatioReport.N(k.Sqlite, "0.00")}, {baseline} {RatioReport.N(b.Sqlite, "0.00")} statements on the SQLite file per transaction");
                report.Ratio("roundtrips.sqlite.transfer.extra", k.Sqlite - b.Sqlite, $"statements on SQLite per transaction, Khonsu minus {baseline} (a difference, not a ratio)");
            }
        }
    }

    private async Task CountSqliteAsync(string khonsu, string rawPath, int transactions, CancellationToken cancellationToken)
    {
        var table = BenchEnvironment.SqliteTable(1);
        foreach (var workload in Workloads.Where(w => w != "transfer"))
        {
            Func<CancellationToken, Task<ILoadClient>> khonsuClient = workload == "rmw"
                ? token => KhonsuRmwClient.ConnectAsync(khonsu, table, BenchEnvironment.Accounts, token)
                : token => AutocommitClient.KhonsuAsync(khonsu, table, insert: false, token);
            Func<CancellationToken, Task<ILoadClient>> rawClient = workload == "rmw"
                ? token => RawSqliteRmwClient.ConnectAsync(rawPath, table, BenchEnvironment.Accounts, token)
                : token => AutocommitClient.RawSqliteAsync(rawPath, table, insert: false, token);
            var k = await CountAsync(null, khonsuClient, transactions, cancellationToken, listLast: true);
            var b = await CountAsync(null, rawClient, transactions, cancellationToken, listLast: true);
            report.Figure($"roundtrips.sqlite.{workload} statements of one transaction, Khonsu: {string.Join(" | ", k.Last)}");
            report.Figure($"roundtrips.sqlite.{workload} statements of one transaction, raw: {string.Join(" | ", b.Last)}");
            report.Figure($"roundtrips.sqlite.{workload}: Khonsu {RatioReport.N(k.Sqlite, "0.00")}, raw Microsoft.Data.Sqlite {RatioReport.N(b.Sqlite, "0.00")} statements per transaction ({transactions} transactions each)");
            report.Ratio($"roundtrips.sqlite.{workload}.extra", k.Sqlite - b.Sqlite, "statements on SQLite per transaction, Khonsu minus raw Microsoft.Data.Sqlite (a difference, not a ratio)");
        }
    }

    private static string Proxied(string connectionString, TcpRelay proxy)
        => new NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;

    /// <summary>
    /// Round trips to PostgreSQL (through <paramref name="proxy"/>, if any) and statements on SQLite
    /// per transaction, over <paramref name="transactions"/> run after a warm-up (catalogs and plans cached).
    /// </summary>
    /// <param name="listLast">Also return the SQLite statements of one more transaction, run after the counted ones.</param>
    private static async Task<(double Postgres, double Sqlite, IReadOnlyList<string> Last)> CountAsync(
        TcpRelay? proxy, Func<CancellationToken, Task<ILoadClient>> connect, int transactions, CancellationToken cancellationToken, bool listLast = false)
    {
        var random = new Random(7);
        await using var client = await connect(cancellationToken);
        for (var i = 0; i < 20; i++)
        {
            await client.RunOnceAsync(random, cancellationToken);
        }

        var (roundTrips, statements) = (proxy?.RoundTrips ?? 0, SqliteStatementCounter.Statements);
        for (var i = 0; i < transactions; i++)
        {
            await client.RunOnceAsync(random, cancellationToken);
        }

        var (postgres, sqlite) = (((proxy?.RoundTrips ?? 0) - roundTrips) / (double)transactions, (SqliteStatementCounter.Statements - statements) / (double)transactions);
        var last = new List<string>();
        if (listLast)
        {
            SqliteStatementCounter.Texts = last;
            try
            {
                await client.RunOnceAsync(random, cancellationToken);
            }
            finally
            {
                SqliteStatementCounter.Texts = null;
            }
        }

        return (postgres, sqlite, last);
    }
}
