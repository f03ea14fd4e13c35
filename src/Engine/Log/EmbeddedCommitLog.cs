using Khonsu.Engine.Log.Embedded;

namespace Khonsu.Engine.Log;

/// <summary>
/// The default commit log: one local SQLite file (WAL, synchronous=FULL), so it needs no server,
/// and a DBA reads its transaction_log table with sqlite3. Appends go through a single writer that
/// commits everything pending in one transaction (group commit: concurrent commits share a sync);
/// reads use a connection of their own and never wait for a sync.
/// </summary>
public sealed class EmbeddedCommitLog : ICommitLog
{
    private static readonly TimeSpan DefaultBusyTimeout = TimeSpan.FromSeconds(10);

    private readonly GroupCommitWriter _writer;
    private readonly LogReader _reader;
    private int _disposed;

    private EmbeddedCommitLog(string path, GroupCommitWriter writer, LogReader reader)
    {
        Path = path;
        _writer = writer;
        _reader = reader;
    }

    /// <summary>The log's SQLite file, which also holds transaction_log.</summary>
    public string Path { get; }

    /// <summary>Write transactions (so syncs) made so far; fewer than appends when group commit works.</summary>
    internal long SyncCount => _writer.SyncCount;

    /// <summary>Opens the log file, creating it and its tables if missing.</summary>
    public static EmbeddedCommitLog Open(string path) => Open(path, DefaultBusyTimeout);

    /// <param name="path">The SQLite file; its directory is created if missing.</param>
    /// <param name="busyTimeout">How long a write waits for another process holding the file's write lock.</param>
    internal static EmbeddedCommitLog Open(string path, TimeSpan busyTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(fullPath)!);

        var writerConnection = RawSqlite.Open(fullPath, readOnly: false, busyTimeout);
        RawSqlite? readerConnection = null;
        try
        {
            EmbeddedLogSchema.Apply(writerConnection);

            // Opened after the schema exists: a read-only connection cannot create the file or its WAL.
            readerConnection = RawSqlite.Open(fullPath, readOnly: true, busyTimeout);
            return new EmbeddedCommitLog(fullPath, new GroupCommitWriter(writerConnection), new LogReader(readerConnection));
        }
        catch
        {
            readerConnection?.Dispose();
            writerConnection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends a record and returns once it is durable, with the transaction's first decision.
    /// Cancelling ends the wait. A record the writer has not yet taken is then withdrawn; one it
    /// has taken is appended all the same. Either way the caller cannot know which from here: the
    /// transaction's outcome is whatever <see cref="GetDecisionAsync"/> later reports.
    /// </summary>
    /// <exception cref="ArgumentException">The record holds a value the codec cannot carry.</exception>
    public async ValueTask<AppendResult> AppendAsync(LogRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);

        // Encoded here, on the caller's thread: the single writer does only SQLite work, and a
        // record the codec refuses fails its own caller rather than the whole batch.
        var encoded = LogRecordCodec.Encode(record);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await _writer.SubmitAsync(new PendingAppend(record, encoded), cancellationToken).ConfigureAwait(false);
        Diagnostics.KhonsuTelemetry.LogAppendDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        return result;
    }

    public ValueTask<LoggedRecord?> GetDecisionAsync(TransactionId transactionId, CancellationToken cancellationToken = default)
        => _reader.FirstDecisionAsync(transactionId, cancellationToken);

    public IAsyncEnumerable<LoggedRecord> ReadUnfinishedAsync(CancellationToken cancellationToken = default)
        => _reader.ReadUnfinishedAsync(cancellationToken);

    public IAsyncEnumerable<LoggedRecord> ReadFromAsync(LogPosition from, CancellationToken cancellationToken = default)
        => _reader.ReadFromAsync(from, cancellationToken);

    /// <summary>Goes through the writer like an append, so transaction_log changes in log order.</summary>
    public async ValueTask NoteParticipantStatusAsync(
        TransactionId transactionId, string participant, ParticipantStatus status, string? reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(participant);
        var note = new PendingNote(transactionId, participant, LogText.Status(status), reason);
        await _writer.SubmitAsync(note, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes every append already queued, then closes the file. Later calls fail with <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writer.DisposeAsync().ConfigureAwait(false);
        await _reader.DisposeAsync().ConfigureAwait(false);
    }
}
