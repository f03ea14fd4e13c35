using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Khonsu.Engine.Log.Embedded;

namespace Khonsu.Engine.Log;

/// <summary>
/// The default commit log: a local SQLite database (WAL, synchronous=FULL), so it needs no server
/// and a DBA reads transaction_log with sqlite3. One writer drains every pending append into a
/// single write transaction, so concurrent commits share one sync (group commit).
/// </summary>
public sealed class EmbeddedCommitLog : ICommitLog
{
    private const int MaxBatch = 1024;

    private readonly Channel<PendingAppend> _pending = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly RawSqlite _writer;
    private readonly RawSqlite _reader;
    private readonly SemaphoreSlim _readLock = new(1, 1);
    private readonly Task _writerLoop;
    private long _syncCount;
    private int _disposed;

    private EmbeddedCommitLog(string path, RawSqlite writer, RawSqlite reader)
    {
        Path = path;
        _writer = writer;
        _reader = reader;
        _writerLoop = Task.Factory.StartNew(WriteLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>The log's SQLite file, which also holds transaction_log.</summary>
    public string Path { get; }

    /// <summary>How many write transactions (syncs) the writer has made; fewer than appends when group commit works.</summary>
    internal long SyncCount => Interlocked.Read(ref _syncCount);

    public static EmbeddedCommitLog Open(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var writer = RawSqlite.Open(path);
        try
        {
            writer.Execute(EmbeddedLogSchema.Create);
            return new EmbeddedCommitLog(path, writer, RawSqlite.Open(path));
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    public async ValueTask<AppendResult> AppendAsync(LogRecord record, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingAppend(record);
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(EmbeddedCommitLog), "The commit log is closed.");
        }

        // A cancelled wait does not take the record back: the writer may still append it.
        return await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<LoggedRecord?> GetDecisionAsync(TransactionId transactionId, CancellationToken cancellationToken = default)
    {
        await _readLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var statement = _reader.Prepare(EmbeddedLogSchema.FirstDecision).Bind(1, transactionId.ToString());
            return statement.Step() ? new LoggedRecord(new LogPosition(statement.Int64(0)), LogRecordCodec.Decode(statement.Blob(2))) : null;
        }
        finally
        {
            _readLock.Release();
        }
    }

    public IAsyncEnumerable<LoggedRecord> ReadUnfinishedAsync(CancellationToken cancellationToken = default)
        => ReadAllAsync(EmbeddedLogSchema.ReadUnfinished, null, cancellationToken);

    public IAsyncEnumerable<LoggedRecord> ReadFromAsync(LogPosition from, CancellationToken cancellationToken = default)
        => ReadAllAsync(EmbeddedLogSchema.ReadFrom, from.Value, cancellationToken);

    public async ValueTask NoteParticipantStatusAsync(
        TransactionId transactionId, string participant, ParticipantStatus status, string? reason, CancellationToken cancellationToken = default)
    {
        // Notes are rare (recovery trouble); they share the writer's handle through the read lock's
        // sibling: a short immediate transaction on the read handle keeps the writer loop simple.
        await _readLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _reader.Prepare(EmbeddedLogSchema.NoteParticipant)
                .Bind(1, transactionId.ToString()).Bind(2, participant).Bind(3, StatusText(status)).Bind(4, reason)
                .Run();
        }
        finally
        {
            _readLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _pending.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        _writer.Dispose();
        _reader.Dispose();
        _readLock.Dispose();
    }

    private async IAsyncEnumerable<LoggedRecord> ReadAllAsync(string sql, long? parameter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var records = new List<LoggedRecord>();
        await _readLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var statement = _reader.Prepare(sql);
            if (parameter is { } value)
            {
                statement.Bind(1, value);
            }

            while (statement.Step())
            {
                records.Add(new LoggedRecord(new LogPosition(statement.Int64(0)), LogRecordCodec.Decode(statement.Blob(1))));
            }
        }
        finally
        {
            _readLock.Release();
        }

        foreach (var record in records)
        {
            yield return record;
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingAppend>(MaxBatch);
        while (await _pending.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            WriteBatch(batch);
            batch.Clear();
        }
    }

    private void WriteBatch(List<PendingAppend> batch)
    {
        var results = new AppendResult[batch.Count];
        try
        {
            _writer.Execute("BEGIN IMMEDIATE");
            try
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    results[i] = Write(batch[i].Record);
                }

                _writer.Execute("COMMIT");
            }
            catch
            {
                _writer.Execute("ROLLBACK");
                throw;
            }
        }
        catch (Exception error)
        {
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(error);
            }

            return;
        }

        Interlocked.Increment(ref _syncCount);
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Completion.TrySetResult(results[i]);
        }
    }

    private AppendResult Write(LogRecord record)
    {
        var id = record.TransactionId.ToString();
        var at = Timestamp(record.Timestamp);
        _writer.Prepare(EmbeddedLogSchema.InsertRecord)
            .Bind(1, id).Bind(2, KindText(record.Kind)).Bind(3, record.NodeId).Bind(4, at).Bind(5, LogRecordCodec.Encode(record))
            .Run();
        var position = LastPosition();

        var first = _writer.Prepare(EmbeddedLogSchema.FirstDecision).Bind(1, id);
        LogRecordKind? decision = first.Step() ? ParseKind(first.Text(1)) : null;
        var decisionPosition = decision is null ? 0 : first.Int64(0);
        first.Reset();

        switch (record.Kind)
        {
            case LogRecordKind.End:
                _writer.Prepare(EmbeddedLogSchema.RemoveUnfinished).Bind(1, id).Run();
                _writer.Prepare(EmbeddedLogSchema.FinishParticipants).Bind(1, id).Bind(2, at).Run();
                break;
            case var kind when kind == decision && decisionPosition == position:
                // This record is the transaction's decision: recovery must finish it until an end record comes.
                _writer.Prepare(EmbeddedLogSchema.AddUnfinished).Bind(1, id).Bind(2, position).Run();
                RecordParticipants(record, position);
                break;
            default:
                // A late record after the decision: the log order already settled the outcome.
                break;
        }

        return new AppendResult(new LogPosition(position), decision);
    }

    private void RecordParticipants(LogRecord record, long position)
    {
        var commit = record.Kind == LogRecordKind.Commit;
        var participants = record.Participants.Count > 0 ? record.Participants.Select(p => (p.Participant, (long?)p.Writes.Count)).ToList() : [("*", null)];
        foreach (var (participant, rows) in participants)
        {
            _writer.Prepare(EmbeddedLogSchema.UpsertParticipant)
                .Bind(1, record.TransactionId.ToString())
                .Bind(2, participant)
                .Bind(3, commit ? "PREPARED" : "ABORTED")
                .Bind(4, commit ? "COMMIT" : "ABORT")
                .Bind(5, record.NodeId)
                .Bind(6, record.Operation)
                .Bind(7, record.StartedAt is { } started ? Timestamp(started) : null)
                .Bind(8, Timestamp(record.Timestamp))
                .Bind(9, null)
                .Bind(10, record.Reason)
                .Bind(11, commit ? rows : null)
                .Bind(12, position)
                .Run();
        }
    }

    private long LastPosition()
    {
        var statement = _writer.Prepare("SELECT last_insert_rowid()");
        statement.Step();
        return statement.Int64(0);
    }

    private static string Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static string KindText(LogRecordKind kind) => kind switch
    {
        LogRecordKind.Commit => "COMMIT",
        LogRecordKind.Abort => "ABORT",
        _ => "END",
    };

    private static LogRecordKind ParseKind(string text) => text == "COMMIT" ? LogRecordKind.Commit : LogRecordKind.Abort;

    private static string StatusText(ParticipantStatus status) => status switch
    {
        ParticipantStatus.Prepared => "PREPARED",
        ParticipantStatus.Committed => "COMMITTED",
        ParticipantStatus.Aborted => "ABORTED",
        _ => "IN_DOUBT",
    };
}
