using System.Data;
using Khonsu.Checker.Checking;
using Khonsu.Checker.Workload;
using Khonsu.TestSupport;
using Khonsu.Testing;
using Xunit.Abstractions;

namespace Khonsu.Checker.Tests;

/// <summary>
/// The workload against real databases: Khonsu under faults must show nothing; the checker must
/// catch the write skew that Snapshot isolation and plain two-phase commit let through.
/// </summary>
public class WorkloadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_short_profile_with_faults_finds_no_anomaly_and_no_lost_or_partial_commit_at_Serializable()
    {
        var report = await RunAsync(new WorkloadOptions
        {
            Seed = 42,
            Duration = TimeSpan.FromSeconds(25),
            Nemesis = true,
            PostgresServer = PostgresServer.ConnectionString,
            RunnerPath = RunnerPath(),
        });

        AssertClean(report);
        Assert.True(report.Result.Committed >= 50, $"only {report.Result.Committed} transactions committed");
        Assert.True(report.Nemesis.ChildrenKilled > 0, "no child process was killed");
        Assert.True(report.Nemesis.BackendsTerminated + report.Nemesis.SqliteLocksHeld > 0, "no in-process fault was injected");
    }

    [Fact]
    public async Task Through_a_kafka_log_whose_broker_fails_the_short_profile_finds_nothing_either()
    {
        var report = await RunAsync(new WorkloadOptions
        {
            Seed = 12,
            Duration = TimeSpan.FromSeconds(20),
            Nemesis = true,
            Kafka = true,
            PostgresServer = PostgresServer.ConnectionString,
            RunnerPath = RunnerPath(),
        });

        AssertClean(report);
        Assert.True(report.Result.Committed >= 20, $"only {report.Result.Committed} transactions committed");
        Assert.True(report.Nemesis.KafkaFaults > 0, "no Kafka fault was injected");
    }

    [Fact]
    public async Task Three_application_processes_at_once_on_a_kafka_log_with_faults_find_nothing()
    {
        var report = await RunAsync(new WorkloadOptions
        {
            Seed = 14,
            Duration = TimeSpan.FromSeconds(25),
            Nemesis = true,
            Kafka = true,
            Processes = 3,
            PostgresServer = PostgresServer.ConnectionString,
            RunnerPath = RunnerPath(),
        });

        AssertClean(report);
        Assert.True(report.Result.Committed >= 20, $"only {report.Result.Committed} transactions committed");
        Assert.True(report.Nemesis.ChildrenKilled > 0, "no process was killed while the others ran");
        Assert.Equal(2, report.Nemesis.MostChildrenAtOnce); // both children ran transactions at the same moment, beside the runner
        Assert.True(report.Nemesis.LeaderChanges > 0, "the log's leader never moved");
        Assert.True(report.Nemesis.KafkaFaults > report.Nemesis.LeaderChanges, "no broker went down and no request failed");
    }

    [Fact]
    public void Several_processes_on_an_embedded_log_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => WorkloadRunner.RunAsync(
            new WorkloadOptions { Processes = 2, PostgresServer = "Host=unused", RunnerPath = RunnerPath() }, TextWriter.Null).GetAwaiter().GetResult());
        Assert.Contains("need a Kafka log", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restarts_of_the_postgres_server_under_the_workload_find_nothing()
    {
        // Its own server: restarting the shared one would fail every other test running beside it.
        await using var server = await PrivatePostgresServer.StartAsync();
        var report = await RunAsync(new WorkloadOptions
        {
            Seed = 21,
            Duration = TimeSpan.FromSeconds(25),
            Nemesis = true,
            PostgresServer = server.ConnectionString,
            RestartPostgres = server.RestartCommand,
            RunnerPath = RunnerPath(),
        });

        AssertClean(report);
        Assert.True(report.Nemesis.PostgresRestarts > 0, "the server was never restarted");
    }

    [Fact]
    public async Task At_Snapshot_isolation_the_checker_finds_cross_backend_write_skew()
    {
        // Every transaction reads a register of each backend and writes one of the two: Snapshot
        // checks write-write conflicts only, so rw-rw cycles across SQLite and PostgreSQL commit.
        var report = await RunAsync(new WorkloadOptions
        {
            Seed = 7,
            Duration = TimeSpan.FromSeconds(12),
            Isolation = IsolationLevel.Snapshot,
            KeysPerBackend = 2,
            WriteSkewShare = 1,
            PostgresServer = PostgresServer.ConnectionString,
        });

        Assert.Contains(report.Result.Anomalies, a => a.Name == AnomalyNames.G2Item && a.Explanation.Contains("-rw(s", StringComparison.Ordinal) && a.Explanation.Contains("-rw(p", StringComparison.Ordinal));
        Assert.Empty(report.Result.Lost);
        Assert.Empty(report.Result.Partial);
        Assert.Equal(1, report.ExitCode);
    }

    [Fact]
    public async Task Against_plain_two_phase_commit_without_certification_the_checker_finds_write_skew()
    {
        var report = await RunAsync(new WorkloadOptions
        {
            Seed = 8,
            Duration = TimeSpan.FromSeconds(8),
            Mode = WorkloadMode.RawTwoPhaseCommit,
            KeysPerBackend = 2,
            WriteSkewShare = 1,
            PostgresServer = PostgresServer.ConnectionString,
        });

        Assert.True(report.Result.Has(AnomalyNames.G2Item), report.Result.Summary());
        Assert.Equal(1, report.ExitCode);
    }

    /// <summary>No anomaly, no lost or partial commit, and recovery left nothing prepared.</summary>
    private static void AssertClean(RunReport report)
    {
        Assert.Empty(report.Result.Anomalies);
        Assert.Empty(report.Result.Lost);
        Assert.Empty(report.Result.Partial);
        Assert.Equal(0, report.UnresolvedPrepared);
    }

    private async Task<RunReport> RunAsync(WorkloadOptions options)
    {
        await using var log = new StringWriter();
        try
        {
            return await WorkloadRunner.RunAsync(options, log);
        }
        finally
        {
            output.WriteLine(log.ToString());
        }
    }

    private static string RunnerPath() => Built.Path("tools", "Khonsu.Checker.Runner", "Khonsu.Checker.Runner.dll");
}
