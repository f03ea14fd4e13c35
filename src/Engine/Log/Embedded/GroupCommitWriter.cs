namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// The log's only writer. Callers queue work; whoever finds the writer idle becomes it (the
/// leader) and writes everything queued in one SQLite transaction, completing every caller at
/// once, so concurrent commits share one sync. While a batch syncs, the next one gathers in the
/// queue: the slower the disk, the larger the batches.
/// </summary>
/// <remarks>
/// The leader writes on its own thread, so a commit that finds the log idle (one client, or a
/// quiet moment) pays its SQLite transaction and nothing else: no hand-over to a writer thread
/// and back. Once its own work is durable the leader returns; work queued meanwhile is written
/// by a drain on the thread pool, which keeps writing batch after batch until the queue is
/// empty, as a dedicated writer loop would under load.
/// </remarks>
internal sealed class GroupCommitWriter : IAsyncDisposable
{
    // Bounds the time the first caller of a batch waits behind the others.
    private const int MaxBatch = 1024;

    private readonly RawSqlite _connection;
    private readonly LogAppender _appender;
    private readonly Lock _gate = new();
    private readonly Queue<PendingWrite> _queue = new();
    private bool _writing;
    private bool _closed;
    private TaskCompletionSource? _idle;

    // The leader began the next batch's transaction already (see Lead); only the writer touches it.
    private bool _begun;
    private long _syncCount;

    public GroupCommitWriter(RawSqlite connection)
    {
        _connection = connection;
        _appender = new LogAppender(connection);
    }

    /// <summary>Write transactions committed so far: one sync each, however many records they held.</summary>
    public long SyncCount => Interlocked.Read(ref _syncCount);

    /// <summary>
    /// Queues the work and waits until it is durable, writing it (and whatever else is queued)
    /// on this thread when no one else is writing. Cancelling the wait withdraws the work if the
    /// writer has not taken it yet; once taken, it is written all the same, and only the wait ends.
    /// </summary>
    public async ValueTask<TResult> SubmitAsync<TResult>(PendingWrite<TResult> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool lead;
        lock (_gate)
        {
            if (_closed)
            {
                throw new ObjectDisposedException(nameof(EmbeddedCommitLog), "The commit log is closed.");
            }

            _queue.Enqueue(work);
            lead = !_writing;
            _writing = true;
        }

        if (lead && Lead(work))
        {
            return await work.Completion.ConfigureAwait(false);
        }

        try
        {
            return await work.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            work.TryWithdraw();
            throw;
        }
    }

    /// <summary>Stops taking work, writes what is queued, and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        Task idle;
        bool lead;
        lock (_gate)
        {
            _closed = true;
            lead = !_writing && _queue.Count > 0;
            _writing |= lead;
            idle = _writing && !lead ? (_idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task : Task.CompletedTask;
        }

        if (lead)
        {
            Drain();
        }

        await idle.ConfigureAwait(false);
        _connection.Dispose();
    }

    /// <summary>
    /// As the writer, writes batches until <paramref name="own"/> is durable; then leaves what is
    /// still queued to a drain on the thread pool, or stops being the writer if nothing is.
    /// Returns false when it wrote nothing because another connection holds the file's write lock
    /// (a tool writing to it): the drain waits for that on the thread pool instead, so that the
    /// caller's wait stays cancellable.
    /// </summary>
    private bool Lead(PendingWrite own)
    {
        bool begun;
        try
        {
            begun = _connection.TryBeginImmediateWithoutWaiting();
        }
        catch (Exception)
        {
            // The drain meets the error again and fails the batch with it.
            begun = false;
        }

        if (!begun)
        {
            _ = Task.Run(Drain);
            return false;
        }

        _begun = true;
        while (!own.WasTaken)
        {
            if (!WriteNextBatches())
            {
                return true;
            }
        }

        lock (_gate)
        {
            if (_queue.Count == 0)
            {
                StopWriting();
                return true;
            }
        }

        _ = Task.Run(Drain);
        return true;
    }

    /// <summary>As the writer, writes batches until the queue is empty, then stops being the writer.</summary>
    private void Drain()
    {
        while (WriteNextBatches())
        {
        }
    }

    /// <summary>
    /// Takes up to <see cref="MaxBatch"/> queued items and writes them; returns false (and stops
    /// being the writer, under the same lock that queues work, so no item is left unwritten) when
    /// there was nothing to take.
    /// </summary>
    private bool WriteNextBatches()
    {
        var taken = new List<PendingWrite>();
        lock (_gate)
        {
            while (taken.Count < MaxBatch && _queue.TryDequeue(out var work))
            {
                if (work.TryTake())
                {
                    taken.Add(work);
                }
            }

            if (taken.Count == 0)
            {
                if (_begun)
                {
                    _connection.RollBackAfterError();
                    _begun = false;
                }

                StopWriting();
                return false;
            }
        }

        var batch = new List<PendingWrite>(taken.Count);
        foreach (var work in taken)
        {
            if (work.Alone)
            {
                // What was queued before it goes first, in log order; then it, in a transaction of its own.
                if (batch.Count > 0)
                {
                    WriteBatch(batch, groupCommit: true);
                    batch.Clear();
                }

                WriteBatch([work], groupCommit: false);
                continue;
            }

            batch.Add(work);
        }

        if (batch.Count > 0)
        {
            WriteBatch(batch, groupCommit: true);
        }

        return true;
    }

    /// <summary>Called under the lock: no one writes now; a waiting dispose may close the connection.</summary>
    private void StopWriting()
    {
        _writing = false;
        _idle?.TrySetResult();
        _idle = null;
    }

    /// <summary>Never throws: a failed batch fails its own callers, and the writer goes on to the next.</summary>
    /// <param name="groupCommit">Appends and notes (counted in the group-commit metrics), or housekeeping alone.</param>
    private void WriteBatch(List<PendingWrite> batch, bool groupCommit)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            if (!_begun)
            {
                _connection.Execute("BEGIN IMMEDIATE");
            }

            _begun = false;
            try
            {
                foreach (var work in batch)
                {
                    work.Write(_appender);
                }

                _connection.Execute("COMMIT");
            }
            catch
            {
                _connection.RollBackAfterError();
                throw;
            }
        }
        catch (Exception error)
        {
            foreach (var work in batch)
            {
                work.Fail(error);
            }

            return;
        }

        if (groupCommit)
        {
            Interlocked.Increment(ref _syncCount);
            Diagnostics.KhonsuTelemetry.LogBatchSize.Record(batch.Count);
        }
        else
        {
            batch[0].Held = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        }

        foreach (var work in batch)
        {
            work.Complete();
        }
    }
}
