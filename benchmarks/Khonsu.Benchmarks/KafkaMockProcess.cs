using System.Diagnostics;

namespace Khonsu.Benchmarks;

/// <summary>
/// tools/Khonsu.KafkaMock (librdkafka's mock cluster) in a process of its own, as the Kafka tests
/// and the checker's --kafka on start it: the broker's work then lands on its own threads and not
/// in the measured process's thread pool.
/// </summary>
internal sealed class KafkaMockProcess : IAsyncDisposable
{
    private readonly Process _process;
    private int _topics;

    private KafkaMockProcess(Process process, string bootstrap)
    {
        _process = process;
        Bootstrap = bootstrap;
    }

    public string Bootstrap { get; }

    public static async Task<KafkaMockProcess> StartAsync(CancellationToken cancellationToken)
    {
        // Built beside this suite by the project reference: <repo>/tools/Khonsu.KafkaMock/bin/<config>/<tfm>/.
        var output = new DirectoryInfo(AppContext.BaseDirectory); // <repo>/benchmarks/Khonsu.Benchmarks/bin/<config>/<tfm>/
        var repository = output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(repository, "tools", "Khonsu.KafkaMock", "bin", output.Parent.Name, output.Name, "Khonsu.KafkaMock.dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"the log section needs the Kafka mock cluster at {path}: build benchmarks/Khonsu.Benchmarks (it builds tools/Khonsu.KafkaMock).", path);
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(path);
        var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None); // librdkafka's chatter, drained so it never blocks
        var first = await process.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        if (first is null || !first.StartsWith("BOOTSTRAP ", StringComparison.Ordinal))
        {
            process.Kill();
            await process.WaitForExitAsync(CancellationToken.None);
            throw new InvalidOperationException($"the Kafka mock cluster did not start (librdkafka1 installed?): '{first}' {await error}");
        }

        return new KafkaMockProcess(process, first["BOOTSTRAP ".Length..].Trim());
    }

    /// <summary>A fresh one-partition topic, so a log opened on it has nothing to read back at start; returns its kafka:// address.</summary>
    public async Task<string> NewLogAsync(CancellationToken cancellationToken)
    {
        var topic = $"kb-log-{Interlocked.Increment(ref _topics)}-{Guid.NewGuid().ToString("N")[..8]}";
        await _process.StandardInput.WriteLineAsync($"topic {topic} 1 1".AsMemory(), cancellationToken);
        await _process.StandardInput.FlushAsync(cancellationToken);
        var answer = await _process.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return answer == "OK" ? $"kafka://{Bootstrap}/{topic}" : throw new InvalidOperationException($"the Kafka mock cluster refused topic {topic}: {answer}");
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close(); // the mock stops when its stdin closes
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
    }
}
