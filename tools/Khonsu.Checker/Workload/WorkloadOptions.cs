using System.Data;

namespace Khonsu.Checker.Workload;

/// <summary>One run of the workload: what to run, for how long, with which faults.</summary>
public sealed record WorkloadOptions
{
    public int Seed { get; init; } = 42;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Serializable (the default) or Snapshot (write-write conflicts only: write skew may show).</summary>
    public IsolationLevel Isolation { get; init; } = IsolationLevel.Serializable;

    public bool Nemesis { get; init; }

    /// <summary>A PostgreSQL server (superuser, <c>max_prepared_transactions</c> above 0); the run creates and drops its own database on it.</summary>
    public required string PostgresServer { get; init; }

    /// <summary>Concurrent clients (in this process, and in each child process the nemesis starts).</summary>
    public int Clients { get; init; } = 4;

    /// <summary>Registers per backend: few keys, many conflicts.</summary>
    public int KeysPerBackend { get; init; } = 4;

    /// <summary>Share of transactions shaped for write skew: read a key of each backend, write one of them.</summary>
    public double WriteSkewShare { get; init; } = 0.4;

    public WorkloadMode Mode { get; init; } = WorkloadMode.Khonsu;

    /// <summary>The runner's assembly (Khonsu.Checker.Runner.dll), started as <c>dotnet &lt;path&gt; --child ...</c> by the nemesis.</summary>
    public string? RunnerPath { get; init; }

    /// <summary>
    /// A shell command that restarts the PostgreSQL server (e.g. <c>pg_ctl -D DIR -m fast -w restart</c>);
    /// when set, the nemesis also restarts the server now and then. Null: no restarts (the runner
    /// did not start the server, so it cannot know how).
    /// </summary>
    public string? RestartPostgres { get; init; }

    /// <summary>Commit through a Kafka log on librdkafka's mock cluster (its own process), whose broker the nemesis takes down and fails requests on.</summary>
    public bool Kafka { get; init; }

    /// <summary>
    /// Application processes running the workload at the same time on the same databases and log:
    /// the runner and <c>Processes - 1</c> child processes, each with <see cref="Clients"/> clients,
    /// killed at random moments with the nemesis. Above 1 only with <see cref="Kafka"/>: an embedded
    /// log belongs to one process.
    /// </summary>
    public int Processes { get; init; } = 1;

    /// <summary>Extra settings appended to Khonsu's connection string, e.g. <c>PostgresIsolation=Serializable</c>.</summary>
    public string ExtraSettings { get; init; } = "";

    /// <summary>Where a run that finds anything saves its history and final state (null: nowhere).</summary>
    public string? EvidenceDirectory { get; init; }

    /// <summary>Where to write the recorded history as JSON lines, if anywhere.</summary>
    public string? HistoryPath { get; init; }
}
