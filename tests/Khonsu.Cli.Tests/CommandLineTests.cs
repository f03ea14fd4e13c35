using System.Net;
using System.Net.Sockets;
using Khonsu.TestSupport;

namespace Khonsu.Cli.Tests;

/// <summary>The tool's command line itself: help, usage errors, unreachable backends. No database is changed.</summary>
public class CommandLineTests
{
    [Fact]
    public async Task Help_explains_every_command_the_connection_string_and_the_exit_codes()
    {
        var run = await CliRun.RunAsync(null, "--help");

        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (var expected in new[] { "status", "recover", "log", "schema", "bench", "--connection", "KHONSU_CONNECTION_STRING", "--json", "--timeout", "Exit codes", "130" })
        {
            Assert.Contains(expected, run.Stdout, StringComparison.Ordinal);
        }

        var recover = await CliRun.RunAsync(null, "recover", "--help");
        Assert.Contains("--min-age", recover.Stdout, StringComparison.Ordinal);
        var tail = await CliRun.RunAsync(null, "log", "tail", "--help");
        Assert.Contains("--follow", tail.Stdout, StringComparison.Ordinal);
        Assert.Contains("--lines", tail.Stdout, StringComparison.Ordinal);
        var adopt = await CliRun.RunAsync(null, "log", "adopt", "--help");
        Assert.Contains("--from", adopt.Stdout, StringComparison.Ordinal);
        Assert.Contains("--old-log-lost", adopt.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_errors_exit_1_with_one_line_that_names_the_problem()
    {
        var missing = await CliRun.RunAsync(null, "status");
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Equal("khonsu: error: no connection string: pass --connection or set KHONSU_CONNECTION_STRING.", missing.Stderr.Trim());

        var badKey = await CliRun.RunAsync(null, "status", "--connection", "Khonsu:Sqlite.main=\"Data Source=x.db\";Lgo=y.db");
        Assert.True(badKey.ExitCode == 1, badKey.ToString());
        Assert.Single(badKey.Stderr.Trim().Split('\n'));
        Assert.Contains("Unknown key 'Lgo'", badKey.Stderr, StringComparison.Ordinal);

        var badOption = await CliRun.RunAsync("Khonsu:Sqlite:Data Source=x.db", "status", "--no-such-option");
        Assert.True(badOption.ExitCode == 1, badOption.ToString());

        var badId = await CliRun.RunAsync("Khonsu:Sqlite:Data Source=x.db", "log", "show", "not-a-uuid");
        Assert.True(badId.ExitCode == 1, badId.ToString());
        Assert.Contains("'not-a-uuid' is not a transaction id", badId.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_backend_exits_3_and_no_output_shows_its_password()
    {
        using var directory = new TempDirectory();
        var sqlite = directory.File("ledger.db");
        await File.WriteAllBytesAsync(sqlite, []); // an empty file is a valid, empty SQLite database
        const string password = "s3cret-Pa55word";
        var closedPort = ClosedPort();
        var connectionString = $"Khonsu:Sqlite.ledger=\"Data Source={sqlite}\";Postgres.shop=\"Host=127.0.0.1;Port={closedPort};Username=khonsu;Password={password};Database=shop\"";

        foreach (var arguments in new[] { new[] { "status" }, ["status", "--json"], ["schema", "check"], ["recover"] })
        {
            var run = await CliRun.RunAsync(connectionString, [.. arguments, "--timeout", "5"]);
            Assert.True(run.ExitCode == 3, run.ToString());
            Assert.DoesNotContain(password, run.Stdout + run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal); // no stack trace
        }

        var status = await CliRun.RunAsync(connectionString, "status");
        Assert.Contains("shop    Postgres  UNREACHABLE", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("ledger  Sqlite    reachable", status.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_without_the_benchmark_project_says_so_and_exits_4()
    {
        using var directory = new TempDirectory();
        var run = await CliRun.RunAsync(null, "bench", "--repo", directory.Path);

        Assert.True(run.ExitCode == 4, run.ToString());
        Assert.Contains("the benchmark project is absent", run.Stderr, StringComparison.Ordinal);
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
