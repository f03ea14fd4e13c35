using System.Diagnostics;
using Khonsu.Testing;

namespace Khonsu.Mirror.Tests;

/// <summary>The built khonsu tool as a process of its own, with the application's connection string in KHONSU_CONNECTION_STRING.</summary>
internal static class KhonsuTool
{
    public static Process Start(string connectionString, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Built.Path("tools", "Khonsu.Cli", "khonsu.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["KHONSU_CONNECTION_STRING"] = connectionString;
        return Process.Start(start)!;
    }

    /// <summary>Runs the tool to its end; fails the test unless it exits with 0. Returns its standard output.</summary>
    public static async Task<string> RunAsync(string connectionString, params string[] arguments)
    {
        using var process = Start(connectionString, arguments);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"khonsu {string.Join(' ', arguments)}: exit {process.ExitCode}\n{await stdout}\n{await stderr}");
        return await stdout;
    }
}
