using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;
using Khonsu.Engine.Log.Codec;

namespace Khonsu.Log.Kafka;

/// <summary>
/// What this process knows of the log, built by applying records in offset order as the tail
/// consumer reads them: every record (for ReadFrom), each transaction's first decision and whether
/// it ended (GetDecision, ReadUnfinished), and the offset read so far, which appends and reads
/// wait on. Every process applies the same records in the same order, so all reach the same
/// first decision for every transaction. A first decision that is a commit record is certified in
/// log order by <see cref="Certifier"/>; a refused one is the transaction's abort decision (kept as
/// an abort record with the certifier's reason). Held in memory: it grows with the log (see
/// docs/kafka-log.md). A checkpoint (<see cref="WriteCheckpoint"/>) holds its exact state at an
/// offset, less the records themselves: an index loaded from it answers every decision and
/// certifies every later record as one that read the whole log, and holds the records after it.
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
    private long _start;
    private Exception? _fault;

    public KafkaLogIndex()
        : this(new LogOrderCertifier())
    {
    }

    private KafkaLogIndex(LogOrderCertifier certifier) => Certifier = certifier;

    public LogOrderCertifier Certifier { get; }

    /// <summary>The offset of the first record this index holds (the records before it came in a checkpoint).</summary>
    public long Start
    {
        get
        {
            lock (_gate)
            {
                return _start;
            }
        }
    }

    /// <summary>Where the partition starts (its low watermark), before the first record is applied.</summary>
    public void StartAt(long start)
    {
        lock (_gate)
        {
            _next = start;
            _start = start;
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

    /// <summary>
    /// Its state after the last record applied (the checkpoint's offset is <see cref="Next"/> - 1),
    /// see <see cref="LogCheckpointCodec"/>. State = topic:string  transaction-count:varint
    /// transaction*  certifier, where transaction = id:16 bytes  flags:u8 (1 decided, 2 ended, 4 refused)
    /// and, if decided and not ended, the decision's offset:varint and its record (LogRecordCodec bytes),
    /// or if decided and ended, only what GetDecision and ReadFrom still need of it: offset:varint
    /// kind:u8 and, if refused, the reason:string. Unfinished refusals keep their whole verdict:
    /// reason:string flags:u8 (1 item, 2 conflicting transaction) [item] [transaction:16 bytes].
    /// </summary>
    public byte[] WriteCheckpoint(string topic)
    {
        lock (_gate)
        {
            if (_next == 0)
            {
                throw new InvalidOperationException("A checkpoint needs at least one record applied.");
            }

            return LogCheckpointCodec.Encode(_next - 1, (writer, names) =>
            {
                writer.WriteString(topic);
                writer.WriteCount(_transactions.Count);
                foreach (var (id, entry) in _transactions)
                {
                    WriteEntry(writer, names, id, entry);
                }

                Certifier.WriteState(writer, names);
            });
        }
    }

    /// <summary>An index in the state a checkpoint holds, ready to apply the record after it.</summary>
    /// <returns>The index and the checkpoint's offset (the last record it covers).</returns>
    /// <exception cref="InvalidDataException">The checkpoint is corrupt, of another format version, or of another topic.</exception>
    public static (KafkaLogIndex Index, long Offset) ReadCheckpoint(ReadOnlySpan<byte> bytes, string topic)
    {
        var (offset, index) = LogCheckpointCodec.Decode(bytes, (ref CodecReader reader, NameTable names) =>
        {
            var written = reader.ReadString();
            if (!string.Equals(written, topic, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"Log checkpoint is of topic '{written}', not '{topic}'.");
            }

            var transactions = new Dictionary<TransactionId, Entry>();
            var count = reader.ReadCount();
            for (var i = 0; i < count; i++)
            {
                var (id, entry) = ReadEntry(ref reader, names);
                if (!transactions.TryAdd(id, entry))
                {
                    throw new InvalidDataException($"Log checkpoint is malformed: transaction {id} appears twice.");
                }
            }

            var restored = new KafkaLogIndex(LogOrderCertifier.ReadState(ref reader, names));
            foreach (var (id, entry) in transactions)
            {
                restored._transactions.Add(id, entry);
                if (entry is { Decision: { } decision, Ended: false })
                {
                    restored._unfinished.Add(decision.Position.Value, decision);
                }
            }

            return restored;
        });

        index._next = offset + 1;
        index._start = offset + 1;
        return (index, offset);
    }

    /// <summary>
    /// A record of the log read from Kafka rather than from this index (one before <see cref="Start"/>),
    /// as <see cref="Range"/> would have returned it: a commit record the certifier refused is its abort.
    /// </summary>
    public LoggedRecord AsApplied(long offset, LogRecord record)
    {
        lock (_gate)
        {
            return record.Kind == LogRecordKind.Commit
                   && _transactions.TryGetValue(record.TransactionId, out var entry)
                   && entry.Decision is { Record.Kind: LogRecordKind.Abort } decision
                   && decision.Position.Value == offset
                ? new LoggedRecord(decision.Position, record with { Kind = LogRecordKind.Abort, Reason = decision.Record.Reason })
                : new LoggedRecord(new LogPosition(offset), record);
        }
    }

    private static void WriteEntry(CodecWriter writer, NameTable names, TransactionId id, Entry entry)
    {
        writer.WriteGuid(id.Value);
        var refused = entry.Refusal is not null;
        writer.WriteByte((byte)((entry.Decision is null ? 0 : 1) | (entry.Ended ? 2 : 0) | (refused ? 4 : 0)));
        if (entry.Decision is not { } decision)
        {
            return;
        }

        writer.WriteVarInt(decision.Position.Value);
        if (entry.Ended)
        {
            writer.WriteByte((byte)decision.Record.Kind);
            if (refused)
            {
                writer.WriteString(decision.Record.Reason ?? string.Empty);
            }

            return;
        }

        writer.WriteBytes(LogRecordCodec.Encode(decision.Record));
        if (entry.Refusal is { } refusal)
        {
            writer.WriteString(refusal.Reason ?? string.Empty);
            writer.WriteByte((byte)((refusal.Item is null ? 0 : 1) | (refusal.ConflictsWith is null ? 0 : 2)));
            if (refusal.Item is { } item)
            {
                ItemIdCodec.Write(writer, item, names);
            }

            if (refusal.ConflictsWith is { } other)
            {
                writer.WriteGuid(other.Value);
            }
        }
    }

    private static (TransactionId Id, Entry Entry) ReadEntry(ref CodecReader reader, NameTable names)
    {
        var id = new TransactionId(reader.ReadGuid());
        var flags = reader.ReadByte();
        if (flags > 7 || (flags & 1) == 0 && flags != 2)
        {
            throw new InvalidDataException($"Log checkpoint is malformed: flags 0x{flags:X2} of transaction {id}.");
        }

        var entry = new Entry { Ended = (flags & 2) != 0 };
        if ((flags & 1) == 0)
        {
            return (id, entry);
        }

        var position = new LogPosition(reader.ReadVarInt());
        if (entry.Ended)
        {
            var kind = (LogRecordKind)reader.ReadByte();
            if (kind is not (LogRecordKind.Commit or LogRecordKind.Abort))
            {
                throw new InvalidDataException($"Log checkpoint is malformed: decision kind {(byte)kind} of transaction {id}.");
            }

            // What is left of a finished transaction: its decision, as GetDecision and ReadFrom need it.
            var thin = new LogRecord { Kind = kind, TransactionId = id, NodeId = string.Empty, Timestamp = default, Reason = (flags & 4) != 0 ? reader.ReadString() : null };
            entry.Decision = new LoggedRecord(position, thin);
            entry.Refusal = (flags & 4) != 0 ? new CertificationResult(false, thin.Reason) : null;
            return (id, entry);
        }

        entry.Decision = new LoggedRecord(position, LogRecordCodec.Decode(reader.ReadBytes()));
        if ((flags & 4) != 0)
        {
            var reason = reader.ReadString();
            var refusalFlags = reader.ReadByte();
            ItemId? item = (refusalFlags & 1) != 0 ? ItemIdCodec.Read(ref reader, names) : null;
            TransactionId? other = (refusalFlags & 2) != 0 ? new TransactionId(reader.ReadGuid()) : null;
            entry.Refusal = new CertificationResult(false, reason, item, other);
        }

        return (id, entry);
    }

    private struct Entry
    {
        public LoggedRecord? Decision;
        public CertificationResult? Refusal;
        public bool Ended;
    }
}
