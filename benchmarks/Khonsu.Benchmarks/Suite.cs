using System.Data;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;

namespace Khonsu.Benchmarks;

/// <summary>The sections of the suite, in the order they run.</summary>
internal sealed class Suite(BenchOptions options, BenchEnvironment environment, RatioReport report)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (options.Runs("read"))
        {
            await ReadPathAsync(cancellationToken);
        }

        if (options.Runs("certifier"))
        {
            Certifier();
        }

        if (options.Runs("rmw"))
        {
            await ReadModifyWriteAsync(cancellationToken);
        }

        if (options.Runs("transfer"))
        {
            await TransferAsync(cancellationToken);
        }

        if (options.Runs("backends"))
        {
            await BackendsAsync(cancellationToken);
        }

        if (options.Runs("aborts"))
        {
            await AbortRateAsync(cancellationToken);
        }

        if (options.Runs("append"))
        {
            await new AppendSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("autocommit"))
        {
            await new AutocommitSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("sync"))
        {
            await new SyncAsyncSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("roundtrips"))
        {
            await new RoundTripSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("analytics"))
        {
            await new AnalyticsSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("liveness"))
        {
            await new LivenessSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("log"))
        {
            await new LogSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("processes"))
        {
            await new ProcessesSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("prefetch"))
        {
            await new PrefetchSection(options, environment, report).RunAsync(cancellationToken);
        }

        if (options.Runs("soak"))
        {
            await new SoakSection(options, environment, report).RunAsync(cancellationToken);
        }
    }

    private async Task ReadPathAsync(CancellationToken cancellationToken)
    {
        report.Section("Read path: point select by key through Dapper (BenchmarkDotNet, in-process)");
        MicroSetup.KhonsuSqlite = environment.KhonsuSqliteOnly(1);
        MicroSetup.RawSqlitePath = environment.RawSqlitePath(1);
        MicroSetup.KhonsuPostgres = environment.KhonsuPostgresOnly();
        MicroSetup.RawPostgres = environment.RawPostgres;
        await environment.OpenOnceAsync(MicroSetup.KhonsuSqlite, cancellationToken);
        await environment.OpenOnceAsync(MicroSetup.KhonsuPostgres, cancellationToken);

        var sqlite = Means(RunMicro(typeof(ReadSqliteBenchmarks)));
        var postgres = Means(RunMicro(typeof(ReadPostgresBenchmarks)));
        foreach (var (name, mean) in sqlite.Concat(postgres))
        {
            report.Figure($"read {name}: {RatioReport.N(mean.Mean / 1000, "0.0")} us per select, {mean.Allocated} B allocated");
        }

        report.Ratio("read.sqlite.latency", Ratio(sqlite, "KhonsuSqlite", "RawSqlite"), "time per point select, Khonsu over SQLite / raw Microsoft.Data.Sqlite");
        report.Ratio("read.postgres.latency", Ratio(postgres, "KhonsuPostgres", "RawPostgres"), "time per point select, Khonsu over PostgreSQL / raw Npgsql");
    }

    private void Certifier()
    {
        report.Section("Certifier alone: SsiCertifier.Certify (BenchmarkDotNet, in-process)");
        var summary = RunMicro(typeof(CertifierBenchmarks));
        var cases = new Dictionary<(int Reads, int History), double>();
        foreach (var r in summary.Reports.Where(r => r.ResultStatistics is not null))
        {
            var reads = (int)r.BenchmarkCase.Parameters[nameof(CertifierBenchmarks.ReadSetSize)];
            var history = (int)r.BenchmarkCase.Parameters[nameof(CertifierBenchmarks.History)];
            cases[(reads, history)] = r.ResultStatistics!.Mean;
            report.Figure($"certifier reads={reads} concurrent-history={history}: {RatioReport.N(1e9 / r.ResultStatistics.Mean, "0")} certifications/s ({RatioReport.N(r.ResultStatistics.Mean / 1000, "0.0")} us each), {r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase)} B allocated per certification");
        }

        double Case(int reads, int history) => cases.TryGetValue((reads, history), out var mean) ? mean : double.NaN;
        report.Ratio("certifier.reads100-vs-reads10", Case(100, 1000) / Case(10, 1000), "time per certification, read set 100 / 10 rows, 1,000 concurrent transactions");
        report.Ratio("certifier.reads1000-vs-reads10", Case(1000, 1000) / Case(10, 1000), "time per certification, read set 1,000 / 10 rows, 1,000 concurrent transactions");
        report.Ratio("certifier.history1000-vs-history100", Case(100, 1000) / Case(100, 100), "time per certification, 1,000 / 100 concurrent transactions, read set 100");
        report.Ratio("certifier.history3000-vs-history100", Case(100, 3000) / Case(100, 100), "time per certification, 3,000 / 100 concurrent transactions, read set 100");
        report.Ratio("certifier.reads10.history3000-vs-history100", Case(10, 3000) / Case(10, 100), "time per certification, 3,000 / 100 concurrent transactions, read set 10, 2 writes");
        report.Ratio("certifier.history3000.reads1000-vs-reads10", Case(1000, 3000) / Case(10, 3000), "time per certification, read set 1,000 / 10 rows, 3,000 concurrent transactions");

        // The same cases timed by the process's CPU time instead of the clock: on a machine shared
        // with other work, BenchmarkDotNet's wall-clock means count the time the benchmark waited
        // for a core (up to 20 times the CPU time here), the CPU time counts what certifying costs.
        var cpu = new Dictionary<(int Reads, int History), double>();
        foreach (var (reads, history) in new[] { (10, 100), (10, 3000), (1000, 100), (1000, 3000), (10, 100), (10, 3000), (1000, 100), (1000, 3000) })
        {
            var perSecond = CertificationsPerCpuSecond(reads, history, reads == 10 ? (options.Quick ? 20_000 : 300_000) : (options.Quick ? 200 : 3_000));
            cpu[(reads, history)] = Math.Max(cpu.GetValueOrDefault((reads, history)), perSecond);
        }

        foreach (var ((reads, history), perSecond) in cpu)
        {
            report.Figure($"certifier by CPU time, reads={reads} concurrent-history={history}: {RatioReport.N(perSecond, "0")} certifications per CPU-second ({RatioReport.N(1e6 / perSecond, "0.00")} us each; best of 2)");
        }

        report.Ratio("certifier.cpu.reads10-vs-goal", cpu[(10, 100)] / 1_000_000, "certifications per CPU-second at read set 10, 2 writes, 100 concurrent transactions / the goal of 1,000,000");
        report.Ratio("certifier.cpu.reads10.history3000-vs-history100", cpu[(10, 100)] / cpu[(10, 3000)], "CPU time per certification, 3,000 / 100 concurrent transactions, read set 10");
        report.Ratio("certifier.cpu.reads1000-vs-reads10", cpu[(10, 3000)] / cpu[(1000, 3000)], "CPU time per certification, read set 1,000 / 10 rows, 3,000 concurrent transactions");

        // Memory the certifier keeps per tracked transaction: distinct keys per transaction, as real reads have.
        var tracked = options.Quick ? 200 : 2_000;
        var bytes = new Dictionary<int, double>();
        foreach (var reads in new[] { 10, 100, 1000 })
        {
            var (perTransaction, remembered) = TrackedBytes(reads, tracked);
            bytes[reads] = perTransaction;
            report.Figure($"certifier memory, read set {reads}, {tracked} transactions: {RatioReport.N(perTransaction, "0")} bytes per tracked transaction, {RatioReport.N(perTransaction / (reads + 2), "0")} bytes per tracked item (read or written, indexed included; {remembered} remembered in full)");
        }

        foreach (var history in options.Quick ? new[] { 1_000, 20_000 } : [1_000, 20_000, 100_000])
        {
            var (perTransaction, remembered) = TrackedBytes(10, history);
            report.Figure($"certifier memory as history grows, read set 10, {history} transactions certified: {RatioReport.N(perTransaction * remembered / 1e6, "0.0")} MB held, {remembered} remembered in full (capacity 10,000; older ones summarised)");
        }

        report.Ratio("certifier.bytes.reads100-vs-reads10", bytes[100] / bytes[10], "bytes per tracked transaction, read set 100 / 10 rows");
        report.Ratio("certifier.bytes.reads1000-vs-reads10", bytes[1000] / bytes[10], "bytes per tracked transaction, read set 1,000 / 10 rows");
    }

    /// <summary>Certifications per second of this process's CPU time, after a warm-up of a quarter as many.</summary>
    private static double CertificationsPerCpuSecond(int reads, int history, int certifications)
    {
        var benchmark = new CertifierBenchmarks { ReadSetSize = reads, History = history };
        benchmark.Setup();
        for (var i = 0; i < certifications / 4; i++)
        {
            benchmark.Certify();
        }

        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var start = process.TotalProcessorTime;
        for (var i = 0; i < certifications; i++)
        {
            benchmark.Certify();
        }

        process.Refresh();
        return certifications / (process.TotalProcessorTime - start).TotalSeconds;
    }

    /// <summary>Bytes the certifier holds per remembered transaction after certifying <paramref name="transactions"/> serial ones.</summary>
    private static (double PerTransaction, int Remembered) TrackedBytes(int reads, int transactions)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var certifier = new SsiCertifier();
        for (var t = 1; t <= transactions; t++)
        {
            var readSet = new ItemId[reads];
            for (var i = 0; i < reads; i++)
            {
                readSet[i] = new ItemId("pg", "catalog", ((long)t * reads + i).ToString(CultureInfo.InvariantCulture));
            }

            var request = new CertificationRequest(TransactionId.New(), new CertificationSequence(t - 1), readSet, [new ItemId("s1", "ledger", t.ToString(CultureInfo.InvariantCulture)), new ItemId("pg", "audit", t.ToString(CultureInfo.InvariantCulture))]);
            certifier.Certify(request, new CertificationSequence(t));
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        var remembered = certifier.RememberedTransactions;
        GC.KeepAlive(certifier);
        return ((after - before) / (double)Math.Max(1, remembered), remembered);
    }

    private async Task ReadModifyWriteAsync(CancellationToken cancellationToken)
    {
        report.Section("Single-backend read-modify-write transaction (load driver): SELECT by key, UPDATE, COMMIT");
        var sqlite = environment.KhonsuSqliteOnly(1);
        var postgres = environment.KhonsuPostgresOnly();
        await environment.OpenOnceAsync(sqlite, cancellationToken);
        await environment.OpenOnceAsync(postgres, cancellationToken);
        var table = BenchEnvironment.SqliteTable(1);
        await CompareAsync(
            "rmw.sqlite",
            "SQLite (WAL, synchronous=FULL)",
            ("Khonsu over SQLite", token => KhonsuRmwClient.ConnectAsync(sqlite, table, BenchEnvironment.Accounts, token)),
            ("raw Microsoft.Data.Sqlite, BEGIN IMMEDIATE", token => RawSqliteRmwClient.ConnectAsync(environment.RawSqlitePath(1), table, BenchEnvironment.Accounts, token)),
            cancellationToken);
        await CompareAsync(
            "rmw.postgres",
            "PostgreSQL (REPEATABLE READ, synchronous_commit on)",
            ("Khonsu over PostgreSQL", token => KhonsuRmwClient.ConnectAsync(postgres, "pg_accounts", BenchEnvironment.Accounts, token)),
            ("raw Npgsql, REPEATABLE READ", token => RawPostgresRmwClient.ConnectAsync(environment.RawPostgres, "pg_accounts", BenchEnvironment.Accounts, IsolationLevel.RepeatableRead, 1, token)),
            cancellationToken);
    }

    private async Task CompareAsync(
        string id,
        string what,
        (string Label, Func<CancellationToken, Task<ILoadClient>> Connect) khonsu,
        (string Label, Func<CancellationToken, Task<ILoadClient>> Connect) baseline,
        CancellationToken cancellationToken)
    {
        await LoadDriver.RunAsync("warm-up", 1, options.WarmupDuration, khonsu.Connect, cancellationToken);
        await LoadDriver.RunAsync("warm-up", 1, options.WarmupDuration, baseline.Connect, cancellationToken);
        foreach (var clients in options.ClientCounts)
        {
            LoadResult k;
            string phases;
            using (var meter = DurationMeter.CommitPhases())
            {
                k = await LoadDriver.RunAsync(khonsu.Label, clients, options.RunDuration, khonsu.Connect, cancellationToken);
                phases = meter.DescribeMeans("prepare", "certify", "log", "finish", "commit", "total");
            }

            var b = await LoadDriver.RunAsync(baseline.Label, clients, options.RunDuration, baseline.Connect, cancellationToken);
            report.Figure($"{id} {what}: {k}");
            report.Figure($"{id} {what}: {b}");
            report.Figure($"{id} {what}: {khonsu.Label} commit phases at {clients} client(s), mean ms: {phases}");
            if (clients == 1)
            {
                report.Ratio($"{id}.latency.c1", k.MeanMs / b.MeanMs, $"mean latency at 1 client, {khonsu.Label} / {baseline.Label}");
                report.Ratio($"{id}.alloc.c1", k.AllocatedBytesPerTx / b.AllocatedBytesPerTx, $"bytes allocated per committed transaction at 1 client, {khonsu.Label} / {baseline.Label}");
            }

            if (clients > 1 || id == "transfer")
            {
                report.Ratio($"{id}.throughput.c{clients}", k.Throughput / b.Throughput, $"committed tx/s at {clients} client{(clients == 1 ? "" : "s")}, {khonsu.Label} / {baseline.Label}");
            }

            _throughputs[(id, "khonsu", clients)] = k.Throughput;
            _throughputs[(id, "baseline", clients)] = b.Throughput;
        }
    }

    private readonly Dictionary<(string Id, string Side, int Clients), double> _throughputs = [];

    private async Task TransferAsync(CancellationToken cancellationToken)
    {
        report.Section("Cross-backend transfer, PostgreSQL + SQLite (load driver): Khonsu vs hand-written two-phase commit");
        var khonsu = environment.KhonsuBackends(2);
        await environment.OpenOnceAsync(khonsu, cancellationToken);
        await CompareAsync(
            "transfer",
            "PostgreSQL debit + SQLite credit",
            ("Khonsu", token => KhonsuTransferClient.ConnectAsync(khonsu, 1, token)),
            ("hand-written 2PC", token => HandTwoPhaseClient.ConnectAsync(environment, 1, token)),
            cancellationToken);
        foreach (var (side, name) in new[] { ("khonsu", "khonsu"), ("baseline", "2pc") })
        {
            var one = _throughputs[("transfer", side, 1)];
            report.Ratio($"transfer.scaling.{name}.c8-vs-c1", _throughputs[("transfer", side, 8)] / one, $"{(side == "khonsu" ? "Khonsu" : "hand-written 2PC")} committed tx/s at 8 clients / at 1 client");
            report.Ratio($"transfer.scaling.{name}.c32-vs-c1", _throughputs[("transfer", side, 32)] / one, $"{(side == "khonsu" ? "Khonsu" : "hand-written 2PC")} committed tx/s at 32 clients / at 1 client");
        }
    }

    private async Task BackendsAsync(CancellationToken cancellationToken)
    {
        const int Clients = 8;
        report.Section($"Cost against the number of backends (load driver, {Clients} clients): PostgreSQL + 0..3 SQLite files, one write in each");
        var khonsuByBackends = new Dictionary<int, double>();
        var baselineByBackends = new Dictionary<int, double>();
        for (var backends = 1; backends <= 4; backends++)
        {
            var sqliteFiles = backends - 1;
            var khonsu = environment.KhonsuBackends(backends);
            await environment.OpenOnceAsync(khonsu, cancellationToken);
            Task<ILoadClient> ConnectKhonsu(CancellationToken token) => KhonsuTransferClient.ConnectAsync(khonsu, sqliteFiles, token);
            Task<ILoadClient> ConnectBaseline(CancellationToken token) => HandTwoPhaseClient.ConnectAsync(environment, sqliteFiles, token);
            await LoadDriver.RunAsync("warm-up", 1, options.WarmupDuration, ConnectKhonsu, cancellationToken);
            var k = await LoadDriver.RunAsync($"Khonsu, {backends} backend(s)", Clients, options.RunDuration, ConnectKhonsu, cancellationToken);
            var b = await LoadDriver.RunAsync($"hand-written 2PC, {backends} backend(s)", Clients, options.RunDuration, ConnectBaseline, cancellationToken);
            report.Figure($"backends: {k}");
            report.Figure($"backends: {b}");
            report.Ratio($"backends.throughput.n{backends}", k.Throughput / b.Throughput, $"committed tx/s with {backends} backend(s), {Clients} clients, Khonsu / hand-written 2PC");
            khonsuByBackends[backends] = k.Throughput;
            baselineByBackends[backends] = b.Throughput;
        }

        report.Ratio("backends.scaling.khonsu.n4-vs-n1", khonsuByBackends[4] / khonsuByBackends[1], "Khonsu committed tx/s with 4 backends / with 1");
        report.Ratio("backends.scaling.2pc.n4-vs-n1", baselineByBackends[4] / baselineByBackends[1], "hand-written 2PC committed tx/s with 4 backends / with 1");
    }

    private async Task AbortRateAsync(CancellationToken cancellationToken)
    {
        const int Clients = 8;
        report.Section($"Abort rate on a contended workload (load driver, {Clients} clients, one PostgreSQL database, {BenchEnvironment.HotRows} hot rows; each transaction reads 2 rows and writes 1)");
        var khonsu = environment.KhonsuAbort();
        var khonsuOnSerializable = environment.KhonsuAbortOnPostgresSerializable();
        await environment.OpenOnceAsync(khonsu, cancellationToken);
        await environment.OpenOnceAsync(khonsuOnSerializable, cancellationToken);
        var duration = options.Quick ? options.RunDuration : options.RunDuration * 2;
        var serializableCauses = new AbortCauses();
        Task<ILoadClient> Khonsu(IsolationLevel level, CancellationToken token)
            => KhonsuContendedClient.ConnectAsync(khonsu, level, token, level == IsolationLevel.Serializable ? serializableCauses : null);
        Task<ILoadClient> Raw(IsolationLevel level, CancellationToken token)
            => RawPostgresRmwClient.ConnectAsync(environment.RawAbortPostgres, "ab_accounts", BenchEnvironment.HotRows, level, 2, token);

        await LoadDriver.RunAsync("warm-up", 1, options.WarmupDuration, token => KhonsuContendedClient.ConnectAsync(khonsu, IsolationLevel.Serializable, token), cancellationToken);
        var khonsuSerializable = await LoadDriver.RunAsync("Khonsu Serializable", Clients, duration, token => Khonsu(IsolationLevel.Serializable, token), cancellationToken);
        var postgresSerializable = await LoadDriver.RunAsync("PostgreSQL SERIALIZABLE (raw Npgsql)", Clients, duration, token => Raw(IsolationLevel.Serializable, token), cancellationToken);
        var khonsuSnapshot = await LoadDriver.RunAsync("Khonsu Snapshot", Clients, duration, token => Khonsu(IsolationLevel.Snapshot, token), cancellationToken);
        var khonsuOverSerializable = await LoadDriver.RunAsync(
            "Khonsu Serializable, participants at PostgreSQL SERIALIZABLE", Clients, duration, token => KhonsuContendedClient.ConnectAsync(khonsuOnSerializable, IsolationLevel.Serializable, token), cancellationToken);
        var postgresRepeatable = await LoadDriver.RunAsync("PostgreSQL REPEATABLE READ (raw Npgsql)", Clients, duration, token => Raw(IsolationLevel.RepeatableRead, token), cancellationToken);
        foreach (var result in new[] { khonsuSerializable, khonsuOverSerializable, postgresSerializable, khonsuSnapshot, postgresRepeatable })
        {
            report.Figure($"aborts: {result.Label}: {RatioReport.N(100 * result.AbortFraction, "0.0")}% of attempts aborted ({result.Aborted} of {result.Committed + result.Aborted}), {RatioReport.N(result.Throughput, "0")} committed tx/s");
        }

        report.Figure($"aborts: Khonsu Serializable, why attempts aborted: {serializableCauses}");
        report.Ratio("aborts.khonsu-serializable-vs-postgres-serializable", khonsuSerializable.AbortFraction / postgresSerializable.AbortFraction, "fraction of attempts aborted, Khonsu Serializable / PostgreSQL SERIALIZABLE");
        report.Ratio("aborts.khonsu-on-postgres-serializable-vs-khonsu", khonsuOverSerializable.AbortFraction / khonsuSerializable.AbortFraction, "fraction of attempts aborted, Khonsu with PostgresIsolation=Serializable / Khonsu (REPEATABLE READ participants)");
        report.Ratio("aborts.khonsu-snapshot-vs-postgres-serializable", khonsuSnapshot.AbortFraction / postgresSerializable.AbortFraction, "fraction of attempts aborted, Khonsu Snapshot / PostgreSQL SERIALIZABLE");
    }

    private Summary RunMicro(Type type)
    {
        // Full: one launch, 3 warm-up and 8 measured iterations (ShortRun's 3 were too noisy on a shared
        // 2-core machine); quick: one cold invocation per case, only to show that every case runs.
        var job = (options.Quick ? Job.Dry : Job.ShortRun.WithIterationCount(8)).WithToolchain(InProcessEmitToolchain.Instance);
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine(environment.Directory, "BenchmarkDotNet.Artifacts"))
            .WithOptions(ConfigOptions.DisableLogFile);
        if (options.Quick)
        {
            // Only the certifier cases the ratios need (the 1,000 x 3,000 one alone takes seconds).
            config = config
                .WithOptions(ConfigOptions.DisableOptimizationsValidator)
                .AddFilter(new SimpleFilter(c => !c.HasParameters || QuickCertifierCases.Contains(((int)c.Parameters[nameof(CertifierBenchmarks.ReadSetSize)], (int)c.Parameters[nameof(CertifierBenchmarks.History)]))));
        }

        return BenchmarkRunner.Run(type, config);
    }

    private static readonly HashSet<(int Reads, int History)> QuickCertifierCases = [(10, 1000), (100, 1000), (1000, 1000), (100, 100), (100, 3000), (10, 100), (10, 3000), (1000, 3000)];

    private static Dictionary<string, (double Mean, long Allocated)> Means(Summary summary)
        => summary.Reports
            .Where(r => r.ResultStatistics is not null)
            .ToDictionary(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name, r => (r.ResultStatistics!.Mean, r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase) ?? 0));

    private static double Ratio(Dictionary<string, (double Mean, long Allocated)> means, string khonsu, string baseline)
        => means.TryGetValue(khonsu, out var k) && means.TryGetValue(baseline, out var b) ? k.Mean / b.Mean : double.NaN;
}
