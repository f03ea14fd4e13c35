namespace Khonsu.Benchmarks;

/// <summary>The command line: which server, which profile, which sections.</summary>
internal sealed record BenchOptions(string? Postgres, bool Quick, IReadOnlySet<string> Sections, string? WorkDirectory, long? Soak = null)
{
    public static readonly string[] AllSections = ["read", "certifier", "rmw", "transfer", "backends", "aborts", "append", "autocommit", "sync", "roundtrips", "analytics", "liveness", "log", "processes", "prefetch", "soak"];

    /// <summary>Transactions of the soak (each log): a million in the full soak, a few thousand in the smoke profile.</summary>
    public long SoakTransactions => Soak ?? (Quick ? 2_000 : 1_000_000);

    public const string Usage =
        """
        Khonsu benchmark suite: every measurement side by side with its baseline, printed as ratios.

          dotnet run -c Release --project benchmarks/Khonsu.Benchmarks -- --postgres "Host=...;Username=...;Database=postgres" [--quick] [--only read,rmw,...]

          --postgres <conn>   a PostgreSQL server to use (superuser, max_prepared_transactions > 0); nothing is started.
                              Scratch databases kb_* are created on it and dropped at the end.
          --quick             smoke profile: every scenario, very short runs (figures meaningless).
          --only <list>       sections to run, comma-separated: read, certifier, rmw, transfer, backends, aborts, append, autocommit, sync, roundtrips, analytics, liveness, log, processes, soak, prefetch.
                              liveness: transfers in opposite orders over 10 hot rows (SQLite + SQLite, SQLite + PostgreSQL)
                              at 8, 32 and 128 workers, against hand-written 2PC that locks in one global order.
                              autocommit: single-row INSERT/UPDATE with no transaction, Khonsu Autocommit=Transaction
                              and =Direct against the raw provider.
                              sync: Dapper's synchronous Execute and Query from 32 threads against the
                              asynchronous variants from 32 tasks (default thread pool), Khonsu over PostgreSQL.
                              log: the same transactions through the embedded log and through a Kafka log on
                              librdkafka's mock cluster (the librdkafka bundled by librdkafka.redist).
                              analytics: a group-by over a million rows in PostgreSQL, SQLite and DuckDB (issue 20's mirror target).
                              processes: 1 to 4 application processes at once on one Kafka log and one PostgreSQL
                              database (8 read-modify-write clients each), committed tx/s as ratios to 1 process.
                              prefetch: an N+1 read transaction (order, lines, customer, stock of each line) over
                              SQLite + PostgreSQL behind 0.5 ms and 2 ms of injected latency, Prefetch off against on.
                              soak: a million transactions through the embedded log and the Kafka log, sampled
                              every 5 % (disk, heap, throughput); about an hour, so only with --only soak or --quick.
          --soak <n>          transactions of the soak (default 1,000,000; --quick: 2,000).
          --work-dir <dir>    where SQLite files and logs go (default: a fresh temporary directory, deleted at the end).

        scripts/bench.sh starts a private PostgreSQL server and runs this with --postgres.
        """;

    /// <summary>Samples a soak takes (every 5 %).</summary>
    private const int Samples = 20;

    /// <summary>Seconds each measured load run lasts.</summary>
    public TimeSpan RunDuration => Quick ? TimeSpan.FromSeconds(0.25) : TimeSpan.FromSeconds(6);

    /// <summary>Seconds of unmeasured load before the measured runs of a workload.</summary>
    public TimeSpan WarmupDuration => Quick ? TimeSpan.FromSeconds(0.1) : TimeSpan.FromSeconds(1.5);

    /// <summary>Client counts of the load-driver runs that compare at several concurrencies.</summary>
    public static int[] LoadClientCounts => [1, 8, 32];

    public int[] ClientCounts => LoadClientCounts;

    public bool Runs(string section) => Sections.Contains(section);

    public static BenchOptions? Parse(string[] args, TextWriter error)
    {
        string? postgres = Environment.GetEnvironmentVariable("KHONSU_BENCH_POSTGRES") is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        string? workDirectory = null;
        var quick = false;
        long? soak = null;
        HashSet<string>? sections = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--postgres" when i + 1 < args.Length:
                    postgres = args[++i];
                    break;
                case "--quick":
                    quick = true;
                    break;
                case "--soak" when i + 1 < args.Length:
                    if (!long.TryParse(args[++i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) || count < Samples)
                    {
                        error.WriteLine($"--soak takes a number of transactions, at least {Samples}");
                        return null;
                    }

                    soak = count;
                    break;
                case "--work-dir" when i + 1 < args.Length:
                    workDirectory = args[++i];
                    break;
                case "--only" when i + 1 < args.Length:
                    sections = new HashSet<string>(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.OrdinalIgnoreCase);
                    if (sections.FirstOrDefault(s => !AllSections.Contains(s, StringComparer.OrdinalIgnoreCase)) is { } unknown)
                    {
                        error.WriteLine($"unknown section '{unknown}'");
                        return null;
                    }

                    break;
                case "-h" or "--help":
                    error.WriteLine(Usage);
                    return null;
                default:
                    error.WriteLine($"unknown or incomplete argument '{args[i]}'");
                    error.WriteLine(Usage);
                    return null;
            }
        }

        // The full soak takes about an hour: the full profile leaves it out unless asked for.
        sections ??= new HashSet<string>(AllSections.Where(s => quick || s != "soak"), StringComparer.OrdinalIgnoreCase);
        var needsPostgres = sections.Any(s => s is not ("certifier" or "soak"));
        if (needsPostgres && postgres is null)
        {
            error.WriteLine("no PostgreSQL server: pass --postgres \"<connection string>\" (or run scripts/bench.sh, which starts one).");
            return null;
        }

        return new BenchOptions(postgres, quick, sections, workDirectory, soak);
    }
}
