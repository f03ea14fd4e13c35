using System.Runtime.CompilerServices;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Coordination;

/// <summary>An in-memory commit log for coordinator unit tests; it can be told to fail appends.</summary>
internal sealed class MemoryCommitLog : ICommitLog
{
    private readonly List<LoggedRecord> _records = [];

    public LogIdentity Identity { get; } = new(Guid.NewGuid().ToString(), "memory log");

    public Func<LogRecord, Exception?> FailAppend { get; set; } = _ => null;

    public IReadOnlyList<LoggedRecord> Records
    {
        get
        {
            lock (_records)
            {
                return _records.ToList();
            }
        }
    }

    public List<(TransactionId Id, string Participant, ParticipantStatus Status)> Notes { get; } = [];

    public ValueTask<AppendResult> AppendAsync(LogRecord record, bool async, CancellationToken cancellationToken)
    {
        if (FailAppend(record) is { } error)
        {
            throw error;
        }

        lock (_records)
        {
            var position = new LogPosition(_records.Count + 1);
            _records.Add(new LoggedRecord(position, record));
            return ValueTask.FromResult(new AppendResult(position, FirstDecision(record.TransactionId)?.Record.Kind));
        }
    }

    public ValueTask<LoggedRecord?> GetDecisionAsync(TransactionId transactionId, CancellationToken cancellationToken = default)
    {
        lock (_records)
        {
            return ValueTask.FromResult(FirstDecision(transactionId));
        }
    }

    public async IAsyncEnumerable<LoggedRecord> ReadUnfinishedAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        List<LoggedRecord> unfinished;
        lock (_records)
        {
            unfinished = _records
                .Where(r => r.Record.Kind != LogRecordKind.End && FirstDecision(r.Record.TransactionId) == r)
                .Where(r => !_records.Any(e => e.Record.Kind == LogRecordKind.End && e.Record.TransactionId == r.Record.TransactionId))
                .ToList();
        }

        foreach (var record in unfinished)
        {
            yield return record;
        }
    }

    public async IAsyncEnumerable<LoggedRecord> ReadFromAsync(LogPosition from, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        foreach (var record in Records.Where(r => r.Position.Value >= from.Value))
        {
            yield return record;
        }
    }

    public ValueTask NoteParticipantStatusAsync(TransactionId transactionId, string participant, ParticipantStatus status, string? reason, bool async, CancellationToken cancellationToken)
    {
        lock (Notes)
        {
            Notes.Add((transactionId, participant, status));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private LoggedRecord? FirstDecision(TransactionId id)
        => _records.FirstOrDefault(r => r.Record.TransactionId == id && r.Record.Kind is LogRecordKind.Commit or LogRecordKind.Abort);
}
