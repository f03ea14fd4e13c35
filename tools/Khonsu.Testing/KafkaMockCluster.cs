using System.Diagnostics;

namespace Khonsu.Testing;

/// <summary>
/// librdkafka's mock Kafka cluster (tools/Khonsu.KafkaMock) in a process of its own: the log
/// outlives any application process a test kills. Fault commands go over its stdin. A test project
/// that uses it references tools/Khonsu.KafkaMock (ReferenceOutputAssembly="false") so it is built.
/// </summary>
public sealed class KafkaMockCluster : IAsyncDisposable
{
    private readonly Process _process;
    private readonly SemaphoreSlim _turn = new(1, 1);

    private KafkaMockCluster(Process process, string bootstrap)
    {
        _process = process;
        Bootstrap = bootstrap;
    }

    public string Bootstrap { get; }

    public static async Task<KafkaMockCluster> StartAsync(int brokers = 1)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Built.Path("tools", "Khonsu.KafkaMock", "Khonsu.KafkaMock.dll"));
        start.ArgumentList.Add("--brokers");
        start.ArgumentList.Add(brokers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(start)!;
        _ = process.StandardError.ReadToEndAsync(); // librdkafka's own chatter; drained so it never blocks
        var first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (first is null || !first.StartsWith("BOOTSTRAP ", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"Khonsu.KafkaMock did not start: '{first}'");
        }

        return new KafkaMockCluster(process, first["BOOTSTRAP ".Length..]);
    }

    /// <summary>
    /// A topic with one partition, as Khonsu's log wants it, on <paramref name="replicas"/> brokers
    /// (more than one lets <see cref="MoveLeaderAsync"/> move its leader); returns its kafka:// address.
    /// </summary>
    public async Task<string> CreateLogAsync(string? topic = null, int replicas = 1)
    {
        topic ??= "khonsu-log-" + Guid.NewGuid().ToString("N")[..12];
        await CommandAsync($"topic {topic} 1 {replicas}");
        return $"kafka://{Bootstrap}/{topic}";
    }

    /// <summary>Makes <paramref name="broker"/> the leader of partition 0 of <paramref name="topic"/> (a leader change, as after a broker's failover).</summary>
    public Task MoveLeaderAsync(string topic, int broker) => CommandAsync($"leader {topic} 0 {broker}");

    public Task DownAsync(int broker = 1) => CommandAsync($"down {broker}");

    public Task UpAsync(int broker = 1) => CommandAsync($"up {broker}");

    public Task SetRttAsync(int milliseconds, int broker = 1) => CommandAsync($"rtt {broker} {milliseconds}");

    public Task PushRequestErrorsAsync(short apiKey, params int[] errors) => CommandAsync($"errors {apiKey} {string.Join(' ', errors)}");

    /// <summary>The mock's librdkafka: its version and the files mapped into its process (comma-separated).</summary>
    public async Task<(string Version, string MappedFiles)> LibraryAsync()
    {
        var words = (await AskAsync("library")).Split(' ', 2);
        return (words[0], words.Length > 1 ? words[1] : string.Empty);
    }

    public Task CommandAsync(string command) => AskAsync(command);

    /// <summary>Sends one command; returns what follows "OK" in the answer.</summary>
    private async Task<string> AskAsync(string command)
    {
        await _turn.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            var answer = await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (answer is null || !(answer == "OK" || answer.StartsWith("OK ", StringComparison.Ordinal)))
            {
                throw new InvalidOperationException($"Khonsu.KafkaMock refused '{command}': {answer}");
            }

            return answer.Length > 3 ? answer[3..] : string.Empty;
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Closing stdin stops it cleanly; a kill if it does not go within seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
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
