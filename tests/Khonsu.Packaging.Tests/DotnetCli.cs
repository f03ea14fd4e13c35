using System.Diagnostics;

namespace Khonsu.Packaging.Tests;

/// <summary>
/// Runs the dotnet CLI (or a program it installed) as a user would, in a given directory, with
/// its own NuGet package cache: a package of the version under test that an earlier run left in
/// the machine's cache would otherwise be used in place of the one just packed.
/// </summary>
internal sealed class DotnetCli(string packageCache)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public Task<string> RunAsync(string workingDirectory, params string[] arguments) =>
        RunProgramAsync("dotnet", workingDirectory, arguments);

    /// <summary>Runs <paramref name="program"/> and returns its output; fails the test on a non-zero exit code.</summary>
    public async Task<string> RunProgramAsync(string program, string workingDirectory, params string[] arguments)
    {
        var (exitCode, output) = await TryRunProgramAsync(program, workingDirectory, null, arguments);
        Assert.True(exitCode == 0, $"`{program} {string.Join(' ', arguments)}` exited with {exitCode}:\n{output}");
        return output;
    }

    /// <summary>Runs <paramref name="program"/> and returns its exit code and output (stdout, then stderr).</summary>
    public async Task<(int ExitCode, string Output)> TryRunProgramAsync(
        string program, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["NUGET_PACKAGES"] = packageCache;
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // The test host's own MSBuild settings must not leak into the user's build.
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{program} {string.Join(' ', arguments)}` did not finish within {Timeout}:\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
