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

    /// <summary>
    /// Every record from <paramref name="from"/> on, in log order.
    /// </summary>
    /// <exception cref="CommitLogTruncatedException">
    /// Truncation deleted records at or after <paramref name="from"/> (its first position left is
    /// <see cref="CommitLogTruncatedException.FirstAvailable"/>); decisions recovery still needs are
    /// kept and come from <see cref="ReadUnfinishedAsync"/>.
    /// </exception>
    public IAsyncEnumerable<LoggedRecord> ReadFromAsync(LogPosition from, CancellationToken cancellationToken = default)
        => _reader.ReadFromAsync(from, cancellationToken);

    /// <summary>Records a truncation batch looks at, at most: about a millisecond of the writer's time.</summary>
    internal const int TruncationScan = 2000;

    /// <summary>Transactions one truncation or retention batch deletes, at most.</summary>
    internal const int TruncationBatch = 200;

    /// <summary>
    /// Deletes every record of the transactions whose end record was written before
    /// <paramref name="endedBefore"/>, except those <paramref name="keep"/> names (this process's
    /// coordinators still in flight) and those with a decision recovery has not finished. Works in
    /// small batches, each a write transaction of its own between the appends queued meanwhile, so
    /// commits wait for at most one batch. Why this is safe: <see cref="LogTruncator"/>.
    /// </summary>
    /// <returns>How many records were deleted.</returns>
    public async ValueTask<long> TruncateEndedAsync(DateTimeOffset endedBefore, Func<TransactionId, bool> keep, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keep);
        long deleted = 0;
        var from = 0L;
        while (true)
        {
            var batch = new PendingTruncation(from, endedBefore, keep, TruncationScan, TruncationBatch);
            var step = await _writer.SubmitAsync(batch, cancellationToken).ConfigureAwait(false);
            Diagnostics.KhonsuTelemetry.RecordTruncation(Diagnostics.KhonsuTelemetry.LogRecords, step.Records, batch.Held);
            deleted += step.Records;
            if (step.Done)
            {
                return deleted;
            }

            from = step.Next;
        }
    }

    /// <summary>
    /// Deletes the transaction_log rows of transactions that finished before <paramref name="finishedBefore"/>
    /// (every participant's row finished, none IN_DOUBT, no decision left for recovery), in small
    /// batches as <see cref="TruncateEndedAsync"/> does.
    /// </summary>
    /// <returns>How many rows were deleted.</returns>
    public async ValueTask<long> DeleteTransactionLogHistoryAsync(DateTimeOffset finishedBefore, CancellationToken cancellationToken = default)
    {
        long deleted = 0;
        var after = string.Empty;
        while (true)
        {
            var batch = new PendingHistoryDeletion(after, finishedBefore, TruncationBatch);
            var step = await _writer.SubmitAsync(batch, cancellationToken).ConfigureAwait(false);
            Diagnostics.KhonsuTelemetry.RecordTruncation(Diagnostics.KhonsuTelemetry.TransactionLogRows, step.Rows, batch.Held);
            deleted += step.Rows;
            if (step.Done)
            {
                return deleted;
            }

            after = step.After;
        }
    }

    /// <summary>The highest position truncation deleted records at, or null if it never deleted any.</summary>
    public ValueTask<LogPosition?> TruncatedThroughAsync(CancellationToken cancellationToken = default)
        => _reader.TruncatedThroughAsync(cancellationToken);

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
