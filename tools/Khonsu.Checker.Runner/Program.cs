// The checker's one command: runs the workload against Khonsu (SQLite + PostgreSQL), with faults
// if asked, checks the history and ends with one line such as
//   checked: 12408 committed, 1310 aborted, 0 anomalies, 0 lost, 0 partial (seed 42, 180 s)
// exiting 1 on any anomaly, lost or partial commit (2 on bad arguments). See docs/checker.md.
using System.Data;
using System.Globalization;
using Khonsu.Checker.Workload;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
var child = false;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--child")
    {
        child = true;
    }
    else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
    {
        options[args[i][2..]] = args[++i];
    }
    else
    {
        return Usage($"unexpected argument '{args[i]}'");
    }
}

string Get(string name, string fallback) => options.TryGetValue(name, out var value) ? value : fallback;
int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
var isolation = Get("isolation", "serializable") switch
{
    "serializable" => IsolationLevel.Serializable,
    "snapshot" => IsolationLevel.Snapshot,
    var other => throw new ArgumentException($"--isolation {other}: serializable or snapshot"),
};
var writeSkew = double.Parse(Get("write-skew", "0.4"), CultureInfo.InvariantCulture);

if (child)
{
    return await ChildWorker.RunAsync(Get("connection", ""), Int("serial-base", 1000), Int("clients", 4), Int("seed", 42), isolation, Int("keys", 4), writeSkew, TimeSpan.FromSeconds(30));
}

var postgres = Get("postgres", Environment.GetEnvironmentVariable("KHONSU_TEST_POSTGRES") ?? "");
if (postgres.Length == 0)
{
    return Usage("no PostgreSQL server: pass --postgres \"Host=...;Username=postgres;Database=postgres\" or set KHONSU_TEST_POSTGRES (max_prepared_transactions must be above 0)");
}

var run = new WorkloadOptions
{
    Seed = Int("seed", 42),
    Duration = TimeSpan.FromSeconds(Int("duration", 60)),
    Isolation = isolation,
    Nemesis = Get("nemesis", "off") == "on",
    PostgresServer = postgres,
    Clients = Int("clients", 4),
    KeysPerBackend = Int("keys", 4),
    WriteSkewShare = writeSkew,
    Mode = Get("mode", "khonsu") == "raw2pc" ? WorkloadMode.RawTwoPhaseCommit : WorkloadMode.Khonsu,
    RunnerPath = typeof(WorkloadRunner).Assembly.Location.Replace("Khonsu.Checker.dll", "Khonsu.Checker.Runner.dll", StringComparison.Ordinal),
    ExtraSettings = Get("khonsu", ""),
    RestartPostgres = options.TryGetValue("restart-postgres", out var restart) ? restart : null,
    Kafka = Get("kafka", "off") == "on",
    Processes = Int("processes", Get("kafka", "off") == "on" ? 3 : 1), // with Kafka, several processes by default: the point of a shared log
    EvidenceDirectory = Path.Combine(Path.GetTempPath(), "khonsu-checker-failures"),
    HistoryPath = options.TryGetValue("history", out var history) ? history : null,
};
var report = await WorkloadRunner.RunAsync(run, Console.Out);
return report.ExitCode;

static int Usage(string problem)
{
    Console.Error.WriteLine($"khonsu-checker: {problem}");
    Console.Error.WriteLine("usage: --seed N --duration SECONDS [--isolation serializable|snapshot] [--nemesis on|off] [--postgres CONNSTRING] [--clients N] [--keys N] [--write-skew 0..1] [--mode khonsu|raw2pc] [--khonsu \"Setting=Value;...\"] [--kafka on|off] [--processes N] [--restart-postgres CMD] [--history FILE]");
    return 2;
}
