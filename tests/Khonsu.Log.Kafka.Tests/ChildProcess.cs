using System.Diagnostics;
using System.Globalization;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>An application process (tests/Khonsu.Log.Kafka.Child) that a test talks to line by line.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private ChildProcess(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public static ChildProcess Start(params object[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(RepoPaths.Built("tests", "Khonsu.Log.Kafka.Child"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(Convert.ToString(arg, CultureInfo.InvariantCulture)!);
        }

        return new ChildProcess(Process.Start(start)!);
    }

    /// <summary>Lines up to and including the first that starts with <paramref name="last"/>; fails if the process ends first.</summary>
    public async Task<List<string>> ReadUntilAsync(string last, TimeSpan timeout)
    {
        var lines = new List<string>();
        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            var line = await _process.StandardOutput.ReadLineAsync(cancel.Token);
            if (line is null)
            {
                await _process.WaitForExitAsync(CancellationToken.None);
                throw new InvalidOperationException($"The child ended (exit {_process.ExitCode}) before '{last}': {await _stderr}\n{string.Join('\n', lines)}");
            }

            lines.Add(line);
            if (line.StartsWith(last, StringComparison.Ordinal))
            {
                return lines;
            }
        }
    }

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>SIGKILL: no finally block, no flush, no goodbye.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
