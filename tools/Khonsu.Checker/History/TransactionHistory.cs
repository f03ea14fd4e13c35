namespace Khonsu.Checker.History;

/// <summary>
/// A history being recorded (thread-safe): invocations and completions in real-time order. An
/// invocation that never completes (its client was killed) becomes an <see cref="Outcome.Unknown"/>
/// transaction with the invocation's ops.
/// </summary>
public sealed class TransactionHistory
{
    private readonly object _gate = new();
    private readonly List<HistoryEvent> _events = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    public IReadOnlyList<HistoryEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public HistoryEvent Invoke(string transactionId, int process, IReadOnlyList<MicroOp> plannedOps)
        => Add(new HistoryEvent(transactionId, process, null, plannedOps, _clock.ElapsedTicks));

    public HistoryEvent Complete(string transactionId, int process, Outcome outcome, IReadOnlyList<MicroOp> ops)
        => Add(new HistoryEvent(transactionId, process, outcome, ops, _clock.ElapsedTicks));

    public HistoryEvent Add(HistoryEvent historyEvent)
    {
        lock (_gate)
        {
            _events.Add(historyEvent);
        }

        return historyEvent;
    }

    /// <summary>Pairs invocations with completions; an open invocation is an unknown-outcome transaction.</summary>
    public IReadOnlyList<Transaction> Transactions() => Pair(Events);

    public static IReadOnlyList<Transaction> Pair(IEnumerable<HistoryEvent> events)
    {
        var invoked = new Dictionary<string, HistoryEvent>(StringComparer.Ordinal);
        var order = new List<string>();
        var completed = new Dictionary<string, HistoryEvent>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.Outcome is null)
            {
                if (!invoked.TryAdd(e.TransactionId, e))
                {
                    throw new InvalidOperationException($"Transaction {e.TransactionId} is invoked twice.");
                }

                order.Add(e.TransactionId);
            }
            else
            {
                if (!invoked.ContainsKey(e.TransactionId))
                {
                    throw new InvalidOperationException($"Transaction {e.TransactionId} completes without an invocation.");
                }

                completed[e.TransactionId] = e;
            }
        }

        var result = new List<Transaction>(order.Count);
        foreach (var id in order)
        {
            var invocation = invoked[id];
            result.Add(completed.TryGetValue(id, out var completion)
                ? new Transaction(id, invocation.Process, completion.Outcome!.Value, completion.Ops, invocation.Time, completion.Time) { Planned = invocation.Ops }
                : new Transaction(id, invocation.Process, Outcome.Unknown, invocation.Ops, invocation.Time, long.MaxValue));
        }

        return result;
    }
}
