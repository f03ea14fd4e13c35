using System.Data;
using System.Globalization;

namespace Khonsu.Checker.Workload;

/// <summary>
/// The runner in child mode (<c>--child</c>): the nemesis starts it and SIGKILLs it at a random
/// moment. It runs the workload's clients through Khonsu and prints every history event as a JSON
/// line on stdout, flushed at once, so whatever it was doing when killed is an open invocation.
/// </summary>
public static class ChildWorker
{
    public static async Task<int> RunAsync(string connectionString, int serialBase, int clients, int seed, IsolationLevel isolation, int keysPerBackend, double writeSkewShare, TimeSpan lifetime)
    {
        var keys = new Keyspace(keysPerBackend);
        var output = Console.Out;
        var gate = new object();
        void Record(History.HistoryEvent e)
        {
            var line = HistoryCodec.Encode(e);
            lock (gate)
            {
                output.WriteLine(line);
                output.Flush();
            }
        }

        using var stop = new CancellationTokenSource(lifetime);
        var tasks = Enumerable.Range(0, clients).Select(async i =>
        {
            await using var executor = new KhonsuExecutor(connectionString, isolation);
            var planner = new OpPlanner(keys, serialBase + i, seed, writeSkewShare);
            await ClientLoop.RunAsync(planner, executor, Record, null, stop.Token);
        }).ToList();
        await Task.WhenAll(tasks);
        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"child {serialBase}: lifetime over"));
        return 0;
    }
}
