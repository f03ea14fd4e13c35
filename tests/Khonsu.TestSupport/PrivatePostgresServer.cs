using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Khonsu.TestSupport;

/// <summary>
/// A PostgreSQL server of one test's own (fresh data directory, free port, two-phase commit on),
/// for faults no test may inflict on the shared server (<see cref="PostgresServer"/>): a restart
/// under the running workload. Started and stopped with the server's own tools, as the
/// <c>postgres</c> user (initdb refuses root), so it needs root and a PostgreSQL install, as
/// scripts/test.sh does.
/// </summary>
public sealed class PrivatePostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _directory;

    private PrivatePostgresServer(string bin, string directory, int port)
    {
        _bin = bin;
        _directory = directory;
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres";
    }

    /// <summary>To its maintenance database, as the superuser.</summary>
    public string ConnectionString { get; }

    /// <summary>A bash command that restarts the server and returns once it accepts connections again.</summary>
    public string RestartCommand => $"cd / && runuser -u postgres -- {_bin}/pg_ctl -D {_directory}/data -m fast -w -t 60 restart";

    public static async Task<PrivatePostgresServer> StartAsync()
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).Order().LastOrDefault()
            ?? throw new InvalidOperationException("No PostgreSQL server under /usr/lib/postgresql/*/bin: run the tests with ./scripts/test.sh, which installs it.");
        var directory = Directory.CreateTempSubdirectory("khonsu-private-pg-").FullName;
        await RunAsync("chown", "postgres:postgres", directory);
        await RunAsync("runuser", "-u", "postgres", "--", Path.Combine(bin, "initdb"), "-D", Path.Combine(directory, "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
        var port = FreePort();
        var server = new PrivatePostgresServer(bin, directory, port);
        await RunAsync(
            "runuser", "-u", "postgres", "--", Path.Combine(bin, "pg_ctl"), "-D", Path.Combine(directory, "data"), "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60",
            "-o", $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c max_connections=100 -c max_prepared_transactions=50", "start");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync("runuser", "-u", "postgres", "--", Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "-t", "30", "stop");
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await errors}{await output}");
        }
    }
}
