using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;
using Khonsu.Engine.Codec;
using Khonsu.Engine.SharedLog;

namespace Khonsu.Log.Kafka;

/// <summary>
/// What this process knows of the log, built by applying records in offset order as the tail
/// consumer reads them: the latest records (for ReadFrom), each transaction's first decision and
/// whether it ended (GetDecision, ReadUnfinished), and the offset read so far, which appends and
/// reads wait on. Every process applies the same records in the same order, so all reach the same
/// first decision for every transaction. A first decision that is a commit record is certified in
/// log order by <see cref="Certifier"/>; a refused one is the transaction's abort decision (kept as
/// an abort record with the certifier's reason). A checkpoint (<see cref="WriteCheckpoint"/>) holds
/// its exact state at an offset, less the records themselves: an index loaded from it answers every
/// decision and certifies every later record as one that read the whole log.
/// </summary>
/// <remarks>
/// It stays bounded however long the log (see <see cref="OutcomeLimits"/> for why each rule is safe):
/// <list type="bullet">
/// <item>A transaction that ended keeps only its outcome (offset, kind, a refusal's reason), and is
/// forgotten <see cref="OutcomeLimits.CommitGrace"/> of log clock later if it committed,
/// <see cref="OutcomeLimits.Horizon"/> later if it aborted. The log's clock is the newest record
/// timestamp applied, so every process forgets at the same record.</item>
/// <item>A commit record whose transaction began more than <see cref="OutcomeLimits.MaxTransactionAge"/>
/// before the log's clock is refused (in every process alike), so an abort forgotten can never be
/// overturned by a late commit.</item>
/// <item>Decisions without an end record (recovery's work) are never forgotten.</item>
/// <item>Only the last <see cref="OutcomeLimits.RecordsInMemory"/> records are held; older ones are
/// read from the topic. A refused commit read from the topic is shown as the abort it became while
/// its outcome is remembered; before the last forgotten refusal, ReadFrom reports the log truncated.</item>
/// </list>
/// </remarks>
internal sealed class KafkaLogIndex
{
    private const string RefusedPrefix = "refused by certification in log order: ";

    private readonly Lock _gate = new();
    private readonly List<LoggedRecord> _records = [];
    private readonly Dictionary<TransactionId, Entry> _transactions = [];
    private readonly SortedDictionary<long, LoggedRecord> _unfinished = [];
    private readonly PriorityQueue<TaskCompletionSource, long> _waiters = new();

    // Transactions that ended (or have no decision), with the log's clock then, in the order they
    // did: the commits' queue forgets after the grace, the aborts' after the horizon.
    private readonly Queue<Settled> _settledCommits = new();
    private readonly Queue<Settled> _settledAborts = new();
    private readonly Dictionary<string, string> _nodes = new(StringComparer.Ordinal);
    private readonly OutcomeLimits _limits;
    private long _next;
    private long _start;
    private long _clock;
    private long _forgottenRefusalThrough = -1;
    private long _forgotten;
    private List<TransactionId>? _unstamped;
    private Exception? _fault;

    public KafkaLogIndex(OutcomeLimits? limits = null)
        : this(new LogOrderCertifier(), limits ?? OutcomeLimits.Default)
    {
    }

    private KafkaLogIndex(LogOrderCertifier certifier, OutcomeLimits limits)
    {
        Certifier = certifier;
        _limits = limits;
    }

    public LogOrderCertifier Certifier { get; }

    /// <summary>The offset of the first record this index holds in memory (those before came in a checkpoint, or were let go).</summary>
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

    /// <summary>
    /// Reading from before this offset cannot show every refused commit as the abort it became: the
    /// outcome of one before it was forgotten. 0 while none was.
    /// </summary>
    public long ReadableFrom
    {
        get
        {
            lock (_gate)
            {
                return _forgottenRefusalThrough + 1;
            }
        }
    }

    /// <summary>Transactions whose outcome it remembers, and how many it forgot since it was built (for tests, metrics and the soak benchmark).</summary>
    public (int Remembered, long Forgotten, int RecordsHeld) Size
    {
        get
        {
            lock (_gate)
            {
                return (_transactions.Count, _forgotten, _records.Count);
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

            AdvanceClock(record.Timestamp);
            var position = new LogPosition(offset);
            ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_transactions, record.TransactionId, out var known);
            var shown = new LoggedRecord(position, record);
            if (record.Kind == LogRecordKind.End)
            {
                var settledAlready = entry.Ended || (entry.Decision?.Record.IsReadOnlyCertification ?? false);
                entry.Ended = true;
                Certifier.Ended(record.TransactionId);
                if (entry.Decision is { } decided)
                {
                    _unfinished.Remove(decided.Position.Value);
                    (entry.Decision, entry.Refusal) = Thin(decided, entry.Refusal);
                }

                if (!settledAlready)
                {
                    Settle(record.TransactionId, entry);
                }
            }
            else if (entry.Decision is null && record.Kind != LogRecordKind.InDoubtNote)
            {
                // The first decision in log order is the transaction's outcome; later ones change nothing.
                if (record.Kind == LogRecordKind.Commit && (TooOld(record) ?? Refused(Certifier.CertifyCommit(position, record))) is { } refusal)
                {
                    entry.Refusal = refusal;
                    record = record with { Kind = LogRecordKind.Abort, Reason = RefusedPrefix + refusal.Reason };
                }

                shown = new LoggedRecord(position, record);
                entry.Decision = shown;
                if (record.IsReadOnlyCertification)
                {
                    // Nothing to finish and no end record will come: settled at once.
                    Settle(record.TransactionId, entry);
                }
                else if (!entry.Ended)
                {
                    _unfinished.Add(offset, entry.Decision);
                }
                else
                {
                    // A decision after the end record (a late abort): nothing left to finish.
                    (entry.Decision, entry.Refusal) = Thin(entry.Decision, entry.Refusal);
                    Settle(record.TransactionId, entry);
                }
            }
            else if (!known)
            {
                // A note of a transaction this index forgot (or never saw decided): forget it again.
                Settle(record.TransactionId, entry);
            }

            // A refused commit is kept as the abort it became, so ReadFrom agrees with GetDecision.
            _records.Add(shown);
            Certifier.Applied(position);
            _next = offset + 1;
            Forget();
            LetRecordsGo();
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
    public CommitRefusal? RefusalOf(TransactionId transactionId)
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

    /// <summary>
    /// Records at or after <paramref name="from"/>, up to (excluding) <paramref name="until"/>, in log
    /// order; null when <paramref name="from"/> is before <see cref="Start"/> (let go meanwhile: read
    /// those from the topic).
    /// </summary>
    public IReadOnlyList<LoggedRecord>? Range(long from, long until)
    {
        lock (_gate)
        {
            if (from < _start)
            {
                return null;
            }

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
    /// see <see cref="LogCheckpointCodec"/>. State (format 2) = topic:string  clock:varint (UTC ticks,
    /// 0 before any record)  forgotten-refusal-through:varint  transaction-count:varint transaction*
    /// settled-commit-count:varint settled*  settled-abort-count:varint settled*  certifier, where
    /// settled = id:16 bytes clock:varint (in the order they will be forgotten) and transaction =
    /// id:16 bytes  flags:u8 (1 decided, 2 ended, 4 refused) and, if decided and not ended, the
    /// decision's offset:varint and its record (LogRecordCodec bytes), or if decided and ended, only
    /// what GetDecision and ReadFrom still need of it: offset:varint kind:u8 and, if refused, the
    /// reason:string. Unfinished refusals keep their whole verdict: reason:string flags:u8 (1 item,
    /// 2 conflicting transaction) [item] [transaction:16 bytes]. Format 1 is the same without the
    /// clock, the forgotten offset and the settled queues.
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
                writer.WriteVarInt(_clock);
                writer.WriteVarInt(_forgottenRefusalThrough);
                writer.WriteCount(_transactions.Count);
                foreach (var (id, entry) in _transactions)
                {
                    WriteEntry(writer, names, id, entry);
                }

                WriteSettled(writer, _settledCommits);
                WriteSettled(writer, _settledAborts);
                Certifier.WriteState(writer, names);
            });
        }
    }

    /// <summary>An index in the state a checkpoint holds, ready to apply the record after it.</summary>
    /// <returns>The index and the checkpoint's offset (the last record it covers).</returns>
    /// <exception cref="InvalidDataException">The checkpoint is corrupt, of another format version, or of another topic.</exception>
    public static (KafkaLogIndex Index, long Offset) ReadCheckpoint(ReadOnlySpan<byte> bytes, string topic, OutcomeLimits? limits = null)
    {
        var (offset, index) = LogCheckpointCodec.Decode(bytes, (ref CodecReader reader, NameTable names, byte version) =>
        {
            var written = reader.ReadString();
            if (!string.Equals(written, topic, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"Log checkpoint is of topic '{written}', not '{topic}'.");
            }

            var (clock, forgottenThrough) = version >= 2 ? (reader.ReadVarInt(), reader.ReadVarInt()) : (0L, -1L);
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

            var (commits, aborts) = version >= 2 ? (ReadSettled(ref reader), ReadSettled(ref reader)) : ([], []);
            var restored = new KafkaLogIndex(LogOrderCertifier.ReadState(ref reader, names), limits ?? OutcomeLimits.Default)
            {
                _clock = clock,
                _forgottenRefusalThrough = forgottenThrough,
            };
            foreach (var (id, entry) in transactions)
            {
                restored._transactions.Add(id, entry);
                if (entry is { Decision: { } decision, Ended: false } && !decision.Record.IsReadOnlyCertification)
                {
                    restored._unfinished.Add(decision.Position.Value, decision);
                }
            }

            commits.ForEach(restored._settledCommits.Enqueue);
            aborts.ForEach(restored._settledAborts.Enqueue);
            if (version < 2)
            {
                // Written before the index forgot anything: when each settled is unknown, so it
                // counts from the first record applied after this checkpoint (never earlier).
                restored._unstamped = [.. transactions.Where(t => t.Value.Ended || t.Value.Decision is null || t.Value.Decision.Record.IsReadOnlyCertification).Select(t => t.Key)];
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

    /// <summary>The log's clock moves to the newest record timestamp; from a format-1 checkpoint, its settled transactions start counting now.</summary>
    private void AdvanceClock(DateTimeOffset timestamp)
    {
        _clock = Math.Max(_clock, timestamp.UtcTicks);
        if (_unstamped is { } unstamped)
        {
            _unstamped = null;
            foreach (var id in unstamped)
            {
                if (_transactions.TryGetValue(id, out var entry))
                {
                    Settle(id, entry);
                }
            }
        }
    }

    /// <summary>
    /// Refuses a commit record whose transaction began more than the age limit before the log's
    /// clock (so a forgotten abort cannot be overturned); a read-only transaction's record, which
    /// has nothing to commit anywhere, is certified as usual.
    /// </summary>
    private CommitRefusal? TooOld(LogRecord commit)
    {
        if (commit.IsReadOnlyCertification)
        {
            return null;
        }

        var clock = new DateTimeOffset(_clock, TimeSpan.Zero);
        if (commit.TransactionId.CreatedAt is not { } began)
        {
            return new CommitRefusal($"transaction {commit.TransactionId} has no creation time in its id (not a UUIDv7), so the log cannot tell whether its outcome was forgotten");
        }

        return clock - began > _limits.MaxTransactionAge
            ? new CommitRefusal($"transaction {commit.TransactionId} began at {began:O}, more than {_limits.MaxTransactionAge.TotalMinutes:0.#} min before the log's clock ({clock:O}): on a shared log a transaction must reach its commit record within that time (docs/kafka-log.md, \"What the index keeps\")")
            : null;
    }

    /// <summary>The certifier's verdict as the log keeps it: nothing for a commit, the abort's reason for a refusal.</summary>
    private static CommitRefusal? Refused(CertificationResult verdict)
        => verdict.Commit ? null : new CommitRefusal(verdict.Reason, verdict.Item, verdict.ConflictsWith);

    /// <summary>Queues the transaction to be forgotten: after the grace if it committed, after the horizon otherwise.</summary>
    private void Settle(TransactionId id, Entry entry)
    {
        var settled = new Settled(id, _clock);
        if (entry.Decision is { Record.Kind: LogRecordKind.Commit })
        {
            _settledCommits.Enqueue(settled);
        }
        else if (entry.Decision is null)
        {
            _settledCommits.Enqueue(settled); // an end or a note with no decision: nothing to protect
        }
        else
        {
            _settledAborts.Enqueue(settled);
        }
    }

    private void Forget()
    {
        ForgetOlderThan(_settledCommits, _clock - _limits.CommitGrace.Ticks);
        ForgetOlderThan(_settledAborts, _clock - _limits.Horizon.Ticks);
    }

    private void ForgetOlderThan(Queue<Settled> queue, long clock)
    {
        while (queue.TryPeek(out var settled) && settled.Clock <= clock)
        {
            queue.Dequeue();
            if (!_transactions.TryGetValue(settled.Id, out var entry) || (entry.Decision is { } decision && _unfinished.ContainsKey(decision.Position.Value)))
            {
                continue; // already forgotten, or decided again since and unfinished: kept
            }

            _transactions.Remove(settled.Id);
            _forgotten++;
            Engine.Diagnostics.KhonsuTelemetry.LogOutcomesForgotten.Add(1);
            if (entry.Refusal is not null && entry.Decision is { } refused)
            {
                _forgottenRefusalThrough = Math.Max(_forgottenRefusalThrough, refused.Position.Value);
            }
        }
    }

    /// <summary>Keeps the last records in memory for readers; older ones are read from the topic.</summary>
    private void LetRecordsGo()
    {
        var excess = _records.Count - _limits.RecordsInMemory;
        if (excess >= Math.Max(1, _limits.RecordsInMemory / 8))
        {
            _records.RemoveRange(0, excess);
            _start = _records.Count > 0 ? _records[0].Position.Value : _next;
        }
    }

    /// <summary>What an ended transaction still needs: its decision's kind and offset, a refusal's reason; the node name shared.</summary>
    private (LoggedRecord Decision, CommitRefusal? Refusal) Thin(LoggedRecord decision, CommitRefusal? refusal)
    {
        var record = decision.Record;
        if (!_nodes.TryGetValue(record.NodeId, out var node))
        {
            node = record.NodeId;
            if (_nodes.Count < 1024)
            {
                _nodes[node] = node;
            }
        }

        var thin = new LogRecord
        {
            Kind = record.Kind,
            TransactionId = record.TransactionId,
            NodeId = node,
            Timestamp = record.Timestamp,
            Reason = refusal is null ? null : record.Reason,
        };
        return (new LoggedRecord(decision.Position, thin), refusal is null ? null : new CommitRefusal(refusal.Reason));
    }

    private static void WriteSettled(CodecWriter writer, Queue<Settled> queue)
    {
        writer.WriteCount(queue.Count);
        foreach (var settled in queue)
        {
            writer.WriteGuid(settled.Id.Value);
            writer.WriteVarInt(settled.Clock);
        }
    }

    private static List<Settled> ReadSettled(ref CodecReader reader)
    {
        var count = reader.ReadCount();
        var settled = new List<Settled>(count);
        for (var i = 0; i < count; i++)
        {
            settled.Add(new Settled(new TransactionId(reader.ReadGuid()), reader.ReadVarInt()));
        }

        return settled;
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
        if (flags > 7 || (flags & 1) == 0 && flags != 2 && flags != 0)
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
            entry.Refusal = (flags & 4) != 0 ? new CommitRefusal(thin.Reason) : null;
            return (id, entry);
        }

        entry.Decision = new LoggedRecord(position, LogRecordCodec.Decode(reader.ReadBytes()));
        if ((flags & 4) != 0)
        {
            var reason = reader.ReadString();
            var refusalFlags = reader.ReadByte();
            ItemId? item = (refusalFlags & 1) != 0 ? ItemIdCodec.Read(ref reader, names) : null;
            TransactionId? other = (refusalFlags & 2) != 0 ? new TransactionId(reader.ReadGuid()) : null;
            entry.Refusal = new CommitRefusal(reason, item, other);
        }

        return (id, entry);
    }

    private struct Entry
    {
        public LoggedRecord? Decision;
        public CommitRefusal? Refusal;
        public bool Ended;
    }

    /// <summary>A transaction that ended (or needs no end), and the log's clock (UTC ticks) when it did.</summary>
    private readonly record struct Settled(TransactionId Id, long Clock);
}
