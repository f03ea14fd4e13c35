using System.Diagnostics;
using System.Globalization;
using Khonsu.Checker.History;
using Khonsu.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Checker.Workload;

/// <summary>
/// The faults: while the in-process clients run, pg_terminate_backend of the run's PostgreSQL
/// sessions, SQLite's write lock held from another connection, and on a Kafka log its leader
/// broker down, produce requests failing and leader changes; application processes SIGKILLed at
/// a random moment (with an embedded log between those phases, one process at a time; with a
/// Kafka log beside the runner's clients throughout): their in-flight transactions become
/// unknown-outcome, and recovery finishes them.
/// </summary>
internal sealed class Nemesis(RunDatabases databases, Random random, NemesisStats stats, string? restartPostgres = null, KafkaMockCluster? kafka = null, string? kafkaTopic = null, int kafkaBrokers = 1)
{
    /// <summary>The broker that leads the log's partition (the runner makes broker 1 the leader before the run).</summary>
    private int _leader = 1;

    /// <summary>The seeded generator, shared by the fault loop and the child processes' tasks (Random is not thread-safe).</summary>
    private int Roll(int minValue, int maxValue)
    {
        lock (random)
        {
            return random.Next(minValue, maxValue);
        }
    }

    private int Roll(int maxValue) => Roll(0, maxValue);

    /// <summary>Injects in-process faults until <paramref name="stop"/>.</summary>
    public async Task RunFaultsAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Roll(200, 900), stop);

                // The first fault of a run given a restart command is a restart: every run restarts at least once.
                if (restartPostgres is not null && (stats.PostgresRestarts == 0 || Roll(10) == 0))
                {
                    await RestartPostgresAsync(restartPostgres);
                }
                else if (kafka is not null && Roll(3) == 0)
                {
                    await KafkaFaultAsync(kafka, stop);
                }
                else if (Roll(2) == 0)
                {
                    await TerminateBackendsAsync(all: Roll(4) == 0);
                }
                else
                {
                    await HoldSqliteWriteLockAsync(TimeSpan.FromMilliseconds(Roll(50, 600)), stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (NpgsqlException)
            {
                // The server is restarting (or a session of the fault itself was terminated): skip this fault.
            }
        }
    }

    /// <summary>
    /// Restarts the server under the clients: every session dies, prepared transactions survive
    /// (PREPARE TRANSACTION is durable) and recovery must finish them from the log. Always waited
    /// for to its end, even when the phase ends meanwhile: a restart left running in the background
    /// would refuse the connections of whatever the runner does next.
    /// </summary>
    private async Task RestartPostgresAsync(string command)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var restart = Process.Start(start)!;
        var output = restart.StandardOutput.ReadToEndAsync();
        var errors = restart.StandardError.ReadToEndAsync();
        await restart.WaitForExitAsync();
        if (restart.ExitCode != 0)
        {
            throw new InvalidOperationException($"--restart-postgres exited with {restart.ExitCode}: {await errors}{await output}");
        }

        stats.PostgresRestarted();
    }

    /// <summary>
    /// The leader broker down for a while (appends fail or wait), its next produce requests failing,
    /// or, on a cluster of several brokers, the partition's leader moved to another broker.
    /// </summary>
    private async Task KafkaFaultAsync(KafkaMockCluster mock, CancellationToken stop)
    {
        // On several brokers the first Kafka fault of a run moves the leader: every such run has one.
        var canMoveLeader = kafkaBrokers > 1 && kafkaTopic is not null;
        var fault = canMoveLeader && stats.LeaderChanges == 0 ? 2 : Roll(canMoveLeader ? 3 : 2);
        if (fault == 0)
        {
            var broker = _leader;
            await mock.DownAsync(broker);
            try
            {
                await Task.Delay(Roll(100, 1500), stop);
            }
            finally
            {
                await mock.UpAsync(broker);
            }
        }
        else if (fault == 1)
        {
            // Produce (api key 0): NOT_LEADER_FOR_PARTITION (6), REQUEST_TIMED_OUT (7), NOT_ENOUGH_REPLICAS (19).
            await mock.PushRequestErrorsAsync(0, [.. Enumerable.Range(0, Roll(1, 4)).Select(_ => new[] { 6, 7, 19 }[Roll(3)])]);
        }
        else
        {
            _leader = 1 + ((_leader + Roll(kafkaBrokers - 1)) % kafkaBrokers); // any broker but the current leader
            await mock.MoveLeaderAsync(kafkaTopic!, _leader);
            stats.LeaderChanged();
            return;
        }

        stats.KafkaFault();
    }

    private async Task TerminateBackendsAsync(bool all)
    {
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(databases.PostgresConnectionString) { Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        var sql = "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY random()"
            + (all ? ") s" : " LIMIT 1) s");
        await using var command = new NpgsqlCommand(sql, admin);
        stats.Terminated((int)(long)(await command.ExecuteScalarAsync())!);
    }

    private async Task HoldSqliteWriteLockAsync(TimeSpan hold, CancellationToken stop)
    {
        await using var connection = new SqliteConnection(databases.SqliteConnectionString + ";Pooling=False;Default Timeout=5");
        await connection.OpenAsync(CancellationToken.None);
        await using (var begin = new SqliteCommand("BEGIN IMMEDIATE", connection))
        {
            try
            {
                await begin.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (SqliteException)
            {
                return; // busy for 5 s: the workload holds it; try again later
            }
        }

        stats.SqliteLockHeld();
        try
        {
            await Task.Delay(hold, stop);
        }
        finally
        {
            await using var rollback = new SqliteCommand("ROLLBACK", connection);
            await rollback.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Runs the workload in a child process and SIGKILLs it after a random number of completed
    /// transactions (or a few seconds), recording every event it printed into <paramref name="history"/>.
    /// </summary>
    public Task RunChildAsync(string runnerPath, WorkloadOptions options, int serialBase, TransactionHistory history)
        => RunChildAsync(runnerPath, options, serialBase, history, databases.KhonsuConnectionString, CancellationToken.None, killAtRandom: true);

    /// <summary>
    /// Runs the workload in a child process until <paramref name="stop"/> (then SIGKILLs it), or,
    /// with <paramref name="killAtRandom"/>, SIGKILLs it sooner, after a random number of completed
    /// transactions or a few seconds, recording every event it printed into <paramref name="history"/>.
    /// </summary>
    public async Task RunChildAsync(string runnerPath, WorkloadOptions options, int serialBase, TransactionHistory history, string connectionString, CancellationToken stop, bool killAtRandom)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            runnerPath, "--child",
            "--connection", connectionString,
            "--serial-base", serialBase.ToString(CultureInfo.InvariantCulture),
            "--clients", options.Clients.ToString(CultureInfo.InvariantCulture),
            "--seed", options.Seed.ToString(CultureInfo.InvariantCulture),
            "--isolation", options.Isolation == System.Data.IsolationLevel.Snapshot ? "snapshot" : "serializable",
            "--keys", options.KeysPerBackend.ToString(CultureInfo.InvariantCulture),
            "--write-skew", options.WriteSkewShare.ToString(CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(argument);
        }

        var killAfter = Roll(1, 60);
        var completions = 0;
        var live = false;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the child runner.");
        var stderr = child.StandardError.ReadToEndAsync();
        var reader = Task.Run(async () =>
        {
            while (await child.StandardOutput.ReadLineAsync() is { } line)
            {
                if (HistoryCodec.TryDecode(line) is not { } e)
                {
                    continue;
                }

                history.Add(e);
                if (!live)
                {
                    live = true; // it runs transactions now, beside the others
                    stats.ProcessLive();
                }

                if (e.Outcome is not null && ++completions >= killAfter)
                {
                    reached.TrySetResult();
                }
            }
        });

        var stopped = Task.Delay(Timeout.Infinite, stop);
        await (killAtRandom
            ? Task.WhenAny(reached.Task, Task.Delay(TimeSpan.FromSeconds(8)), child.WaitForExitAsync(), stopped)
            : Task.WhenAny(child.WaitForExitAsync(), stopped));
        if (!child.HasExited)
        {
            child.Kill(entireProcessTree: true); // SIGKILL
            stats.ChildKilled();
        }

        await child.WaitForExitAsync();
        await reader;
        if (live)
        {
            stats.ProcessEnded();
        }

        var errors = await stderr;
        if (completions == 0 && errors.Contains("Exception", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The child runner failed before completing any transaction:\n" + errors);
        }
    }
}
