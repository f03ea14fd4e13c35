using System.Diagnostics;
using Khonsu.TestSupport;
using Khonsu.Testing;

namespace Khonsu.Cli.Tests;

/// <summary>One finished run of the khonsu tool: its exit code and what it wrote.</summary>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

    /// <summary>Runs `dotnet khonsu.dll args` with the given connection string in KHONSU_CONNECTION_STRING (none if null).</summary>
    public static async Task<CliRun> RunAsync(string? connectionString, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Built.Path("tools", "Khonsu.Cli", "khonsu.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("KHONSU_CONNECTION_STRING");
        if (connectionString is not null)
        {
            start.Environment["KHONSU_CONNECTION_STRING"] = connectionString;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"khonsu {string.Join(' ', arguments)} did not finish within 60 s");
        }

        return new CliRun(process.ExitCode, await stdout, await stderr);
    }
}
