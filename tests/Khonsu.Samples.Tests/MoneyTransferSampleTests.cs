using System.Diagnostics;
using System.Text.RegularExpressions;
using Khonsu.TestSupport;
using Khonsu.Testing;

namespace Khonsu.Samples.Tests;

/// <summary>
/// The README's first command: the money-transfer sample, run as a user runs it (a process, in a
/// fresh directory), with its transfers contending for ten accounts in opposite orders. It must
/// finish every time with exit code 0 and the total unchanged; it used to end in an unhandled
/// serialization failure when transfers starved.
/// </summary>
public partial class MoneyTransferSampleTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(32)]
    public async Task The_sample_on_two_sqlite_files_finishes_ten_runs_in_a_row_with_the_total_unchanged(int workers)
    {
        for (var run = 1; run <= 10; run++)
        {
            using var directory = new TempDirectory();
            var output = await RunSampleAsync(directory.Path, "--workers", workers.ToString(System.Globalization.CultureInfo.InvariantCulture));
            AssertTotalUnchanged(output, $"run {run} with {workers} workers");
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(32)]
    public async Task The_sample_with_savings_in_postgres_finishes_with_the_total_unchanged(int workers)
    {
        await using var database = await PostgresDatabase.CreateAsync("sample");
        using var directory = new TempDirectory();
        var output = await RunSampleAsync(directory.Path, database.ConnectionString, "--workers", workers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        AssertTotalUnchanged(output, $"{workers} workers, savings in PostgreSQL");
    }

    private static void AssertTotalUnchanged(string output, string what)
    {
        var before = Total().Match(output);
        var after = TotalAfter().Match(output);
        Assert.True(before.Success && after.Success, $"{what}: no totals printed:\n{output}");
        Assert.Equal("20000", before.Groups[1].Value);
        Assert.Equal(before.Groups[1].Value, after.Groups[1].Value);
        Assert.Contains("invariant holds", output, StringComparison.Ordinal);
    }

    private static async Task<string> RunSampleAsync(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Built.Path("samples", "MoneyTransfer", "MoneyTransfer.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The sample did not finish within 3 minutes:\n{await stdout}\n{await stderr}");
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"The sample exited with {process.ExitCode}:\n{output}");
        return output;
    }

    [GeneratedRegex(@"total before: (\d+)")]
    private static partial Regex Total();

    [GeneratedRegex(@"total after: +(\d+)")]
    private static partial Regex TotalAfter();
}
