using Khonsu.Checker.History;

namespace Khonsu.Checker.Workload;

/// <summary>One client: plans a transaction, records its invocation, runs it, records its completion; until told to stop.</summary>
internal static class ClientLoop
{
    public static async Task RunAsync(OpPlanner planner, ITransactionExecutor executor, Action<HistoryEvent> record, Action<ExecutedTransaction>? observe, CancellationToken stop)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            var id = planner.NextTransactionId();
            var planned = planner.Next();
            record(new HistoryEvent(id, planner.ClientSerial, null, planned, clock.ElapsedTicks));
            var executed = await executor.RunAsync(id, planned);
            record(new HistoryEvent(id, planner.ClientSerial, executed.Outcome, executed.Ops, clock.ElapsedTicks));
            observe?.Invoke(executed);
        }
    }
}
