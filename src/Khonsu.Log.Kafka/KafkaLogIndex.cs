using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka;

/// <summary>
/// What this process knows of the log, built by applying records in offset order as the tail
/// consumer reads them: every record (for ReadFrom), each transaction's first decision and whether
/// it ended (GetDecision, ReadUnfinished), and the offset read so far, which appends and reads
/// wait on. Every process applies the same records in the same order, so all reach the same
/// first decision for every transaction. A first decision that is a commit record is certified in
/// log order by <see cref="Certifier"/>; a refused one is the transaction's abort decision (kept as
/// an abort record with the certifier's reason). Held in memory: it grows with the log (see
/// docs/kafka-log.md).
/// </summary>
internal sealed class KafkaLogIndex
{
    private const string RefusedPrefix = "refused by certification in log order: ";

    private readonly Lock _gate = new();
    private readonly List<LoggedRecord> _records = [];
    private readonly Dictionary<TransactionId, Entry> _transactions = [];
    private readonly SortedDictionary<long, LoggedRecord> _unfinished = [];
    private readonly PriorityQueue<TaskCompletionSource, long> _waiters = new();
    private long _next;
    private Exception? _fault;

    public LogOrderCertifier Certifier { get; } = new();

    /// <summary>Where the partition starts (its low watermark), before the first record is applied.</summary>
    public void StartAt(long start)
    {
        lock (_gate)
        {
            _next = start;
        }
    }

    /// <summary>The offset after the last record applied.</summary>
    public long Next
    {
        get
        {
            lock (_gate)
            {
                return _next;
            }
        }
    }

    /// <summary>Applies the record at <paramref name="offset"/>; records come in offset order, possibly with gaps.</summary>
    public void Apply(long offset, LogRecord record)
    {
        List<TaskCompletionSource>? ready = null;
        lock (_gate)
        {
            if (offset < _next)
            {
                return; // read again after a consumer reset: already applied
            }

            var position = new LogPosition(offset);
            ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_transactions, record.TransactionId, out _);
            if (record.Kind == LogRecordKind.End)
            {
                entry.Ended = true;
                Certifier.Ended(record.TransactionId);
                if (entry.Decision is { } decided)
                {
                    _unfinished.Remove(decided.Position.Value);
                }
            }
            else if (entry.Decision is null && record.Kind != LogRecordKind.InDoubtNote)
            {
                // The first decision in log order is the transaction's outcome; later ones change nothing.
                if (record.Kind == LogRecordKind.Commit && Certifier.CertifyCommit(position, record) is { Commit: false } refusal)
                {
                    entry.Refusal = refusal;
                    record = record with { Kind = LogRecordKind.Abort, Reason = RefusedPrefix + refusal.Reason };
                }

                entry.Decision = new LoggedRecord(position, record);
                if (!entry.Ended && !record.IsReadOnlyCertification)
                {
                    _unfinished.Add(offset, entry.Decision);
                }
            }

            // A refused commit is kept as the abort it became, so ReadFrom agrees with GetDecision.
            _records.Add(entry.Decision is { } decision && decision.Position == position ? decision : new LoggedRecord(position, record));
            Certifier.Applied(position);
            _next = offset + 1;
            while (_waiters.TryPeek(out _, out var waitedFor) && waitedFor < _next)
            {
                (ready ??= []).Add(_waiters.Dequeue());
            }
        }

        // Completed outside the lock: continuations may run inline.
        ready?.ForEach(waiter => waiter.TrySetResult());
    }

    /// <summary>The log cannot be read on (a corrupt record, the log closed): every wait fails with <paramref name="fault"/>.</summary>
    public void Fail(Exception fault)
    {
        List<TaskCompletionSource> waiting = [];
        lock (_gate)
        {
            _fault ??= fault;
            while (_waiters.TryDequeue(out var waiter, out _))
            {
                waiting.Add(waiter);
            }
        }

        waiting.ForEach(waiter => waiter.TrySetException(fault));
    }

    /// <summary>Completes once the record at <paramref name="offset"/> (or any later one) is applied.</summary>
    public Task WaitAppliedAsync(long offset, CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_gate)
        {
            if (_fault is { } fault)
            {
                return Task.FromException(fault);
            }

            if (offset < _next)
            {
                return Task.CompletedTask;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter, offset);
        }

        // The waiter stays queued after a cancellation; completing it later is harmless.
        return waiter.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The transaction's first decision if it lies at or before <paramref name="offset"/>.</summary>
    public LogRecordKind? DecisionAsOf(TransactionId transactionId, long offset)
    {
        lock (_gate)
        {
            return _transactions.TryGetValue(transactionId, out var entry) && entry.Decision is { } decision && decision.Position.Value <= offset
                ? decision.Record.Kind
                : null;
        }
    }

    /// <summary>Why the certifier refused the transaction's commit record, if it did.</summary>
    public CertificationResult? RefusalOf(TransactionId transactionId)
    {
        lock (_gate)
        {
            return _transactions.TryGetValue(transactionId, out var entry) ? entry.Refusal : null;
        }
    }

    public LoggedRecord? FirstDecision(TransactionId transactionId)
    {
        lock (_gate)
        {
            return _transactions.TryGetValue(transactionId, out var entry) ? entry.Decision : null;
        }
    }

    public IReadOnlyList<LoggedRecord> Unfinished()
    {
        lock (_gate)
        {
            return [.. _unfinished.Values];
        }
    }

    /// <summary>Records at or after <paramref name="from"/>, up to (excluding) <paramref name="until"/>, in log order.</summary>
    public IReadOnlyList<LoggedRecord> Range(long from, long until)
    {
        lock (_gate)
        {
            var lo = 0;
            var hi = _records.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_records[mid].Position.Value < from)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            var result = new List<LoggedRecord>();
            for (var i = lo; i < _records.Count && _records[i].Position.Value < until; i++)
            {
                result.Add(_records[i]);
            }

            return result;
        }
    }

    private struct Entry
    {
        public LoggedRecord? Decision;
        public CertificationResult? Refusal;
        public bool Ended;
    }
}
