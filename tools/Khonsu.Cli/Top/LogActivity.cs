using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.Top;

/// <summary>
/// What the commit log says happened over the last <c>window</c>: decisions (commits, and aborts
/// by reason) and how long transactions took, from the records' own timestamps. The log holds the
/// transactions that went through two-phase commit (writes on two backends or more, and every
/// abort decided at commit); a transaction that wrote on one backend commits there alone and
/// leaves no record, so it is not counted here.
/// </summary>
internal sealed class LogActivity(TimeSpan window)
{
    /// <summary>Commits whose end record has not been read yet, to time their finish; bounded so a log without ends cannot grow it.</summary>
    private const int MaxAwaitingEnd = 100_000;

    private readonly Queue<Decision> _decisions = new();
    private readonly HashSet<TransactionId> _decided = [];
    private readonly Queue<(DateTimeOffset At, TimeSpan Took)> _finishes = new();
    private readonly Dictionary<TransactionId, DateTimeOffset> _awaitingEnd = [];

    public TimeSpan Window { get; } = window;

    /// <summary>The position of the last record read, or null before any.</summary>
    public long? LastPosition { get; private set; }

    /// <summary>Records that did not decode (each is shown by khonsu log tail).</summary>
    public long Undecodable { get; private set; }

    public void Add(long position, LoggedRecord? logged)
    {
        LastPosition = position;
        if (logged is null)
        {
            Undecodable++;
            return;
        }

        var record = logged.Record;
        switch (record.Kind)
        {
            // A shared log may show one abort twice: the commit record its certifier refused, then
            // the coordinator's own abort record. The first decision read is the transaction's.
            case LogRecordKind.Commit or LogRecordKind.Abort when _decided.Add(record.TransactionId):
                var committed = record.Kind == LogRecordKind.Commit;
                TimeSpan? toDecision = record.StartedAt is { } started ? record.Timestamp - started : null;
                _decisions.Enqueue(new Decision(record.TransactionId, record.Timestamp, committed, committed ? null : AbortReasons.Group(record.Reason), toDecision));
                if (committed && record.Participants.Count > 0 && _awaitingEnd.Count < MaxAwaitingEnd)
                {
                    _awaitingEnd[record.TransactionId] = record.Timestamp;
                }

                break;
            case LogRecordKind.End when _awaitingEnd.Remove(record.TransactionId, out var decidedAt):
                _finishes.Enqueue((record.Timestamp, record.Timestamp - decidedAt));
                break;
        }
    }

    /// <summary>The window that ends at <paramref name="now"/>; forgets what fell out of it.</summary>
    public ActivityFigures Figures(DateTimeOffset now)
    {
        var from = now - Window;
        while (_decisions.TryPeek(out var oldest) && oldest.At < from)
        {
            _decided.Remove(_decisions.Dequeue().TransactionId);
        }

        while (_finishes.TryPeek(out var oldest) && oldest.At < from)
        {
            _finishes.Dequeue();
        }

        foreach (var (id, at) in _awaitingEnd.Where(pair => pair.Value < now - (4 * Window)).ToList())
        {
            _awaitingEnd.Remove(id); // its end record will come late or never (recovery finishes it): no finish time to show
        }

        var seconds = Window.TotalSeconds;
        var commits = _decisions.Count(d => d.Committed);
        var aborts = _decisions
            .Where(d => !d.Committed)
            .GroupBy(d => d.Reason!)
            .Select(g => new AbortRate(g.Key, g.Count(), g.Count() / seconds))
            .OrderByDescending(a => a.Count)
            .ThenBy(a => a.Reason, StringComparer.Ordinal)
            .ToList();
        PhaseLatency[] phases =
        [
            PhaseLatency.Of("begin to decision", _decisions.Where(d => d.Committed && d.ToDecision.HasValue).Select(d => d.ToDecision!.Value)),
            PhaseLatency.Of("decision to end", _finishes.Select(f => f.Took)),
        ];
        var abortCount = aborts.Sum(a => a.Count);
        return new ActivityFigures(Window, commits, abortCount, commits / seconds, abortCount / seconds, aborts, phases);
    }

    private readonly record struct Decision(TransactionId TransactionId, DateTimeOffset At, bool Committed, string? Reason, TimeSpan? ToDecision);
}
