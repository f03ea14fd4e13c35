using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Khonsu.Data;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.TestSupport;
using Khonsu.Testing;

namespace Khonsu.Cli.Tests;

/// <summary>
/// `khonsu top` as an operator runs it, in another process than the application: what it reads
/// from the log and the backends, and the live view under a real terminal (tmux) while a workload
/// commits.
/// </summary>
public class TopCommandTests
{
    private const string WriteWrite = "write-write conflict on shop.orders[…]: … wrote it after this transaction's snapshot";

    [Fact]
    public async Task Top_counts_commits_groups_aborts_by_reason_times_the_phases_and_lists_what_is_in_doubt()
    {
        await using var db = await CliDatabases.CreateAsync();
        for (var amount = 1; amount <= 3; amount++)
        {
            await db.CommitTransferAsync(amount);
        }

        var prepared = TransactionId.New();
        await using (var log = EmbeddedCommitLog.Open(db.LogPath))
        {
            // Two aborts that differ only in their row and the other transaction, and one of another kind.
            await log.AppendAsync(Abort($"write-write conflict on shop.orders[7]: {TransactionId.New()} wrote it after this transaction's snapshot"));
            await log.AppendAsync(Abort($"write-write conflict on shop.orders[19]: {TransactionId.New()} wrote it after this transaction's snapshot"));
            await log.AppendAsync(Abort("PostgresException: 40001: could not serialize access due to concurrent update"));

            // Prepared on PostgreSQL under this log, and no decision: in doubt until recovery aborts it.
            await db.PostgresAsync($"BEGIN; INSERT INTO orders (id, account_id, amount) VALUES (700, 1, 1); PREPARE TRANSACTION 'khonsu:{log.Identity.Tag}:{prepared}'");
        }

        var json = await CliRun.RunAsync(db.ConnectionString(), "top", "--json", "--count", "1", "--window", "3600", "--in-doubt-after", "0");
        Assert.True(json.ExitCode == 0, json.ToString());
        using (var document = JsonDocument.Parse(Assert.Single(json.Stdout.Trim().Split('\n'))))
        {
            var frame = document.RootElement;
            Assert.Equal(9, frame.GetProperty("lastPosition").GetInt64()); // three COMMIT and END pairs, three aborts
            Assert.Equal(3, frame.GetProperty("commits").GetInt32());
            Assert.Equal(3, frame.GetProperty("aborts").GetInt32());
            Assert.Equal(3 / 3600.0, frame.GetProperty("commitsPerSecond").GetDouble(), 9);
            var reasons = frame.GetProperty("abortsByReason").EnumerateArray().Select(r => (r.GetProperty("reason").GetString(), r.GetProperty("count").GetInt32())).ToList();
            Assert.Equal([(WriteWrite, 2), ("PostgresException: 40001: could not serialize access due to concurrent update", 1)], reasons);
            var phases = frame.GetProperty("latency").EnumerateArray().ToDictionary(p => p.GetProperty("phase").GetString()!);
            Assert.Equal(3, phases["begin to decision"].GetProperty("count").GetInt32());
            Assert.Equal(3, phases["decision to end"].GetProperty("count").GetInt32());
            Assert.True(phases["begin to decision"].GetProperty("p50Ms").GetDouble() > 0);
            Assert.True(phases["decision to end"].GetProperty("maxMs").GetDouble() >= phases["decision to end"].GetProperty("p50Ms").GetDouble());
            Assert.Equal(prepared.ToString(), Assert.Single(frame.GetProperty("inDoubt").EnumerateArray()).GetProperty("txId").GetString());
            Assert.All(frame.GetProperty("backends").EnumerateArray(), b => Assert.True(b.GetProperty("reachable").GetBoolean()));
        }

        // Not a terminal and no --json: one plain frame per refresh.
        var text = await CliRun.RunAsync(db.ConnectionString(), "top", "--count", "2", "--interval", "0.1", "--window", "3600", "--in-doubt-after", "0");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Equal(2, Regex.Matches(text.Stdout, "^khonsu top  ", RegexOptions.Multiline).Count);
        Assert.Contains(WriteWrite, text.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"begin to decision\s+3\s", text.Stdout);
        Assert.Contains(prepared.ToString(), text.Stdout, StringComparison.Ordinal);
        Assert.Contains("ledger Sqlite reachable  shop Postgres reachable", text.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", text.Stdout, StringComparison.Ordinal); // no terminal codes in a file
    }

    [Fact]
    public async Task Top_refuses_an_interval_or_window_that_is_not_positive()
    {
        var interval = await CliRun.RunAsync("Khonsu:Sqlite.a=\"Data Source=a.db\"", "top", "--interval", "0");
        Assert.True(interval.ExitCode == 1, interval.ToString());
        Assert.Contains("--interval must be a number of seconds greater than 0", interval.Stderr, StringComparison.Ordinal);
        var window = await CliRun.RunAsync("Khonsu:Sqlite.a=\"Data Source=a.db\"", "top", "--window", "-5");
        Assert.True(window.ExitCode == 1, window.ToString());
        Assert.Contains("--window must be a number of seconds greater than 0", window.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Top_in_a_terminal_follows_a_running_workload_and_quits_on_q()
    {
        await using var db = await CliDatabases.CreateAsync();
        await db.CommitTransferAsync(amount: 1); // installs Khonsu and creates the log
        await using var connection = new KhonsuConnection(db.ConnectionString());
        await connection.OpenAsync();
        using var stop = new CancellationTokenSource();
        var committed = 0;
        var workload = Task.Run(async () =>
        {
            for (var order = 5000; !stop.IsCancellationRequested; order++)
            {
                await CliDatabases.TransferAsync(connection, amount: 0, order); // each transfer runs to its end: stopping is between them
                Interlocked.Increment(ref committed);
            }
        });

        using var terminal = new Tmux(db.Directory.File("top.exit"));
        try
        {
            terminal.Start(db.ConnectionString(), "top", "--interval", "0.3", "--window", "5");
            var screen = await terminal.WaitForScreenAsync(
                s => Regex.Match(s, @"commits/s ([\d.]+)") is { Success: true } rate && double.Parse(rate.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0
                     && Regex.IsMatch(s, @"begin to decision\s+[1-9]"),
                workload);
            Assert.True(screen.Contains("(q to quit)", StringComparison.Ordinal), screen);
            Assert.True(screen.Contains("in doubt: none", StringComparison.Ordinal), screen);
            Assert.True(screen.Contains("ledger Sqlite reachable", StringComparison.Ordinal), screen);

            terminal.SendKeys("q");
            Assert.Equal(0, await terminal.ExitCodeAsync());
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAny(workload);
        }

        Assert.True(committed > 0);
        await workload; // the workload itself failed nowhere
    }

    private static LogRecord Abort(string reason) => new()
    {
        Kind = LogRecordKind.Abort,
        TransactionId = TransactionId.New(),
        NodeId = "web-1",
        Timestamp = DateTimeOffset.UtcNow,
        Reason = reason,
        Participants = [new ParticipantVote("ledger", false, []), new ParticipantVote("shop", false, [])],
        EndsTransaction = true,
    };

    /// <summary>The khonsu tool in a detached tmux session of its own (a private server socket), read with capture-pane.</summary>
    private sealed class Tmux(string exitFile) : IDisposable
    {
        private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

        private readonly string _socket = "khonsu-top-" + Guid.NewGuid().ToString("N");

        public void Start(string connectionString, params string[] arguments)
        {
            var command = $"dotnet '{Built.Path("tools", "Khonsu.Cli", "khonsu.dll")}' {string.Join(' ', arguments)}; echo $? > '{exitFile}'";
            Run("new-session", "-d", "-x", "200", "-y", "60", "-e", $"KHONSU_CONNECTION_STRING={connectionString}", command);
        }

        public void SendKeys(string keys) => Run("send-keys", "-t", "0", keys);

        /// <summary>Polls the screen until <paramref name="ready"/> holds; fails with the last screen if it never does, or if <paramref name="workload"/> stops.</summary>
        public async Task<string> WaitForScreenAsync(Func<string, bool> ready, Task workload)
        {
            var clock = Stopwatch.StartNew();
            var screen = string.Empty;
            while (clock.Elapsed < Deadline && !workload.IsCompleted && !File.Exists(exitFile))
            {
                screen = Screen();
                if (ready(screen))
                {
                    return screen;
                }

                await Task.Delay(200);
            }

            Assert.Fail($"top never showed the workload (workload {(workload.IsCompleted ? "stopped: " + workload.Exception?.GetBaseException().Message : "running")}, " +
                        $"top {(File.Exists(exitFile) ? "exited" : "running")}). Last screen:\n{screen}");
            return screen;
        }

        public async Task<int> ExitCodeAsync()
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(exitFile) || new FileInfo(exitFile).Length == 0)
            {
                if (clock.Elapsed >= Deadline)
                {
                    Assert.Fail("top did not quit on q. Screen:\n" + Screen());
                }

                await Task.Delay(100);
            }

            return int.Parse(File.ReadAllText(exitFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>
        /// What the terminal shows. Once top has quit, its shell writes the exit file and ends, and the
        /// tmux server with it, so a capture racing that end finds no server: that is no failure of top.
        /// </summary>
        private string Screen()
        {
            try
            {
                return Run("capture-pane", "-p", "-t", "0");
            }
            catch (InvalidOperationException gone)
            {
                return $"(no screen: {gone.Message})";
            }
        }

        public void Dispose()
        {
            try
            {
                Run("kill-server");
            }
            catch (InvalidOperationException)
            {
                // the session ended with top, and the server with it
            }
        }

        private string Run(params string[] arguments)
        {
            var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-L");
            start.ArgumentList.Add(_socket);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : throw new InvalidOperationException($"tmux {string.Join(' ', arguments)}: {error.Trim()}");
        }
    }
}
