using Khonsu.Engine.Log.Embedded;

namespace Khonsu.Engine.Log;

/// <summary>
/// The default commit log: one local SQLite file (WAL, synchronous=FULL), so it needs no server,
/// and a DBA reads its transaction_log table with sqlite3. Appends go through a single writer that
/// commits everything pending in one transaction (group commit: concurrent commits share a sync);
/// reads use a connection of their own and never wait for a sync.
/// </summary>
/// <remarks>
/// One process, and in it one runtime, holds the log at a time: <see cref="Open(string, string)"/>
/// takes an OS lock that dies with the process (<c>&lt;log&gt;.lock</c>, see
/// <see cref="LogFileLock"/>) and fails with <see cref="CommitLogInUseException"/> while another
/// holds it. Its holder is then the only process that can still decide any transaction of the log,
/// which is what lets its recovery abort at once what an earlier run left prepared
/// (<see cref="Exclusive"/>). Tools that only look open it with <see cref="OpenReadOnly"/>, which
/// takes no lock.
/// </remarks>
internal sealed class EmbeddedCommitLog : ICommitLog
{
    private static readonly TimeSpan DefaultBusyTimeout = TimeSpan.FromSeconds(10);

    private readonly GroupCommitWriter? _writer;
    private readonly LogReader _reader;
    private readonly LogFileLock? _lock;
    private readonly LogIdentity? _identity;
    private int _disposed;

    private EmbeddedCommitLog(string path, LogIdentity? identity, GroupCommitWriter? writer, LogReader reader, LogFileLock? exclusive)
    {
        Path = path;
        _identity = identity;
        _writer = writer;
        _reader = reader;
        _lock = exclusive;
    }

    /// <summary>The log's SQLite file, which also holds transaction_log.</summary>
    public string Path { get; }

    /// <summary>
    /// Opened for writing, holding the log's lock: no other process or runtime can append to it,
    /// so every transaction of this log that is not in flight here can be decided by this holder
    /// alone. False when opened read-only.
    /// </summary>
    public bool Exclusive => _lock is not null;

    /// <summary>
    /// The log's id (a UUID kept in the file since it was created) and its path.
    /// </summary>
    /// <exception cref="InvalidOperationException">Opened read-only on a file no fencing build has opened for writing yet, so it has no id.</exception>
    public LogIdentity Identity
        => _identity ?? throw new InvalidOperationException($"The commit log '{Path}' has no log id yet: it gets one the first time a Khonsu runtime opens it.");

    /// <summary>The log's identity when it has one (a read-only open of an old file may not).</summary>
    public LogIdentity? KnownIdentity => _identity;

    /// <summary>Write transactions (so syncs) made so far; fewer than appends when group commit works.</summary>
    internal long SyncCount => Writer.SyncCount;

    /// <summary>The description every embedded log's identity carries: its kind and full path.</summary>
    public static string Describe(string path) => $"embedded log {System.IO.Path.GetFullPath(path)}";

    /// <summary>Opens the log file for writing, creating it and its tables if missing, and holds its lock.</summary>
    /// <param name="holder">Who holds it (a node id), for the message another process gets while this one does.</param>
    /// <exception cref="CommitLogInUseException">Another process, or another runtime of this one, holds the log.</exception>
    public static EmbeddedCommitLog Open(string path, string holder) => Open(path, holder, DefaultBusyTimeout);

    /// <summary>As <see cref="Open(string, string)"/>, the holder being this process.</summary>
    public static EmbeddedCommitLog Open(string path) => Open(path, DefaultHolder(), DefaultBusyTimeout);

    /// <param name="path">The SQLite file; its directory is created if missing.</param>
    /// <param name="holder">Who holds it, noted in the file for the message another process gets.</param>
    /// <param name="busyTimeout">How long a write waits for another connection holding the file's write lock.</param>
    internal static EmbeddedCommitLog Open(string path, string holder, TimeSpan busyTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(fullPath)!);

        var acquired = LogFileLock.TryAcquire(fullPath);
        var exclusive = acquired.Lock ?? throw InUse(fullPath, acquired.InThisProcess, busyTimeout);
        RawSqlite? writerConnection = null;
        RawSqlite? readerConnection = null;
        try
        {
            writerConnection = RawSqlite.Open(fullPath, readOnly: false, busyTimeout);
            var id = EmbeddedLogSchema.Apply(writerConnection, $"{holder} (process {Environment.ProcessId} on {Environment.MachineName})");

            // Opened after the schema exists: a read-only connection cannot create the file or its WAL.
            readerConnection = RawSqlite.Open(fullPath, readOnly: true, busyTimeout);
            return new EmbeddedCommitLog(fullPath, new LogIdentity(id, Describe(fullPath)), new GroupCommitWriter(writerConnection), new LogReader(readerConnection), exclusive);
        }
        catch
        {
            readerConnection?.Dispose();
            writerConnection?.Dispose();
            exclusive.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens an existing log file to read it (decisions, unfinished transactions, records), without
    /// its lock and without writing: what a tool does while the application holds the log.
    /// Appends and notes fail with <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no log file at <paramref name="path"/>.</exception>
    public static EmbeddedCommitLog OpenReadOnly(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"The commit log '{fullPath}' does not exist.", fullPath);
        }

        var readerConnection = RawSqlite.Open(fullPath, readOnly: true, DefaultBusyTimeout);
        try
        {
            var id = EmbeddedLogSchema.ReadLogId(readerConnection);
            return new EmbeddedCommitLog(fullPath, id is null ? null : new LogIdentity(id, Describe(fullPath)), null, new LogReader(readerConnection), null);
        }
        catch
        {
            readerConnection.Dispose();
            throw;
        }
    }

    private GroupCommitWriter Writer
        => _writer ?? throw new InvalidOperationException($"The commit log '{Path}' was opened read-only.");

    private static string DefaultHolder() => $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>The error for a log someone else holds, naming the file, the holder as it noted itself, and what to do instead.</summary>
    private static CommitLogInUseException InUse(string fullPath, bool inThisProcess, TimeSpan busyTimeout)
    {
        if (inThisProcess)
        {
            return new CommitLogInUseException(
                fullPath,
                null,
                inThisProcess: true,
                $"The commit log '{fullPath}' is already open in this process under another connection string. An embedded log has one writer and one " +
                "certifier, so two runtimes on it would certify their transactions apart (no serializability between them) and settle each other's: " +
                "use one connection string for these databases, or give the other connection string a log file of its own (key Log), or close the first " +
                "one first (dispose its data source, or KhonsuConnection.ClearPoolAsync for a bare connection string, and close its connections).");
        }

        string? holder = null;
        try
        {
            using var peek = RawSqlite.Open(fullPath, readOnly: true, busyTimeout);
            holder = EmbeddedLogSchema.ReadHolder(peek);
        }
        catch (Exception error) when (error is IOException or InvalidDataException)
        {
            // Only for the message: the refusal stands without it.
        }

        return new CommitLogInUseException(
            fullPath,
            holder,
            inThisProcess: false,
            $"The commit log '{fullPath}' is in use by another process{(holder is null ? "" : $" ({holder})")}: an embedded log serves one process " +
            $"(the OS lock on '{LogFileLock.PathFor(fullPath)}' is held, and goes when that process ends). Run one process per log file, or let several " +
            "processes share a Kafka log (Log=kafka://host:port/topic; see README, 'Kafka commit log').");
    }

    /// <summary>
    /// Appends a record and returns once it is durable, with the transaction's first decision.
    /// Cancelling ends the wait. A record the writer has not yet taken is then withdrawn; one it
    /// has taken is appended all the same. Either way the caller cannot know which from here: the
    /// transaction's outcome is whatever <see cref="GetDecisionAsync"/> later reports.
    /// </summary>
    /// <exception cref="ArgumentException">The record holds a value the codec cannot carry.</exception>
    public async ValueTask<AppendResult> AppendAsync(LogRecord record, bool async, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);

        // Encoded here, on the caller's thread: the single writer does only SQLite work, and a
        // record the codec refuses fails its own caller rather than the whole batch.
        var encoded = LogRecordCodec.Encode(record);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await Writer.SubmitAsync(new PendingAppend(record, encoded), async, cancellationToken).ConfigureAwait(false);
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
            var step = await Writer.SubmitAsync(batch, async: true, cancellationToken).ConfigureAwait(false);
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
            var step = await Writer.SubmitAsync(batch, async: true, cancellationToken).ConfigureAwait(false);
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
        TransactionId transactionId, string participant, ParticipantStatus status, string? reason, bool async, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(participant);
        var note = new PendingNote(transactionId, participant, LogText.Status(status), reason);
        await Writer.SubmitAsync(note, async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes every append already queued, then closes the file and lets the lock go (last, so
    /// that the next holder finds every append written). Later calls fail with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
            }

            await _reader.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _lock?.Dispose();
        }
    }
}
