using System.Diagnostics;

namespace Khonsu.Checker.Workload;

/// <summary>
/// tools/Khonsu.KafkaMock (librdkafka's mock cluster) in a process of its own, so the log outlives
/// the workload's child processes; fault commands go to its stdin, one answer line each.
/// </summary>
internal sealed class KafkaMockProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly SemaphoreSlim _turn = new(1, 1);

    private KafkaMockProcess(Process process, string bootstrap)
    {
        _process = process;
        Bootstrap = bootstrap;
    }

    public string Bootstrap { get; }

    /// <param name="runnerPath">The runner's assembly; the mock is built beside it under tools/Khonsu.KafkaMock.</param>
    public static async Task<KafkaMockProcess> StartAsync(string runnerPath)
    {
        var path = runnerPath.Replace("Khonsu.Checker.Runner", "Khonsu.KafkaMock", StringComparison.Ordinal);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--kafka on needs {path}: build Khonsu.Data.sln first.");
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(path);
        var process = Process.Start(start)!;
        _ = process.StandardError.ReadToEndAsync(); // librdkafka's chatter, drained so it never blocks
        var first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (first is null || !first.StartsWith("BOOTSTRAP ", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"The Kafka mock did not start: '{first}'.");
        }

        return new KafkaMockProcess(process, first["BOOTSTRAP ".Length..].Trim());
    }

    /// <summary>Sends one fault command (see tools/Khonsu.KafkaMock/Program.cs) and returns its answer.</summary>
    public async Task<string> SendAsync(string command)
    {
        await _turn.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await _process.StandardOutput.ReadLineAsync() ?? "ERR the mock exited";
        }
        finally
        {
            _turn.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close(); // the mock stops when stdin closes
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }

        _process.Dispose();
        _turn.Dispose();
    }
}
