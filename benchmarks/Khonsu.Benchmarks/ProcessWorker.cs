using System.Globalization;

namespace Khonsu.Benchmarks;

/// <summary>
/// One application process of the processes section (<see cref="ProcessesSection"/>), started as
/// <c>dotnet Khonsu.Benchmarks.dll --process-worker &lt;connection string&gt; &lt;clients&gt; &lt;warm-up ms&gt; &lt;run ms&gt;</c>:
/// opens its runtime on the shared Kafka log, warms up, prints <c>READY</c>, waits for <c>GO</c>
/// on standard input (so that every process measures the same moment), runs the read-modify-write
/// load and prints <c>RESULT committed aborted seconds commit-p50-ms</c>.
/// </summary>
internal static class ProcessWorker
{
    public const string Flag = "--process-worker";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 5)
        {
            await Console.Error.WriteLineAsync($"usage: {Flag} <connection string> <clients> <warm-up ms> <run ms>");
            return 2;
        }

        var connectionString = args[1];
        var clients = int.Parse(args[2], CultureInfo.InvariantCulture);
        var warmUp = TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture));
        var run = TimeSpan.FromMilliseconds(int.Parse(args[4], CultureInfo.InvariantCulture));
        Task<ILoadClient> Connect(CancellationToken token) => KhonsuRmwClient.ConnectAsync(connectionString, "pg_accounts", BenchEnvironment.Accounts, token);

        await LoadDriver.RunAsync("warm-up", clients, warmUp, Connect, CancellationToken.None);
        Console.WriteLine("READY");
        await Console.Out.FlushAsync();
        if (await Console.In.ReadLineAsync() != "GO")
        {
            return 1; // the section gave up on this run
        }

        var result = await LoadDriver.RunAsync("process", clients, run, Connect, CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {result.Committed} {result.Aborted} {result.Seconds} {result.CommitP50Ms}"));
        await Console.Out.FlushAsync();
        await Khonsu.Data.KhonsuConnection.ClearPoolAsync(new Khonsu.Data.KhonsuConnection(connectionString)); // closes the log cleanly
        return 0;
    }
}
