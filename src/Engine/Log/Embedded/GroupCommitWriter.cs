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
/// and back. Once its own work is durable the leader returns and leaves the writer's role free;
/// work queued meanwhile is written by whoever takes the role first: a caller that waits
/// synchronously (woken to take it, it writes on its own thread), a caller that arrives, or a
/// drain on the thread pool, which keeps writing batch after batch until the queue is empty, as a
/// dedicated writer loop would under load. So a synchronous commit never needs a thread-pool
/// thread to make progress: it writes (SQLite's synchronous I/O, its sync included) or waits
/// blocked on its own thread, and when the pool is starved the synchronous callers keep the log
/// moving among themselves.
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

    // The writer's role is free for whoever takes it first (see OfferRole); _writing stays set.
    private bool _vacant;
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
    /// <param name="work">What to write.</param>
    /// <param name="async">False for a synchronous caller: it waits blocked on its own thread, and writes the queue itself when the writer's role comes free.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    public async ValueTask<TResult> SubmitAsync<TResult>(PendingWrite<TResult> work, bool async, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!async)
        {
            work.WaitSynchronously();
        }

        bool lead;
        lock (_gate)
        {
            if (_closed)
            {
                throw new ObjectDisposedException(nameof(EmbeddedCommitLog), "The commit log is closed.");
            }

            _queue.Enqueue(work);
            lead = TakeRole();
        }

        if (lead && Lead(work, async))
        {
            return await work.Completion.ConfigureAwait(false); // completed: the leader wrote it
        }

        if (!async)
        {
            return WaitSynchronously(work, cancellationToken);
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
    /// A synchronous caller's wait: blocked on its own thread until its work is written, taking the
    /// writer's role itself whenever it comes free (<see cref="OfferRole"/>).
    /// </summary>
    private TResult WaitSynchronously<TResult>(PendingWrite<TResult> work, CancellationToken cancellationToken)
    {
        while (!work.Completion.IsCompleted)
        {
            try
            {
                work.WaitForWake(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                work.TryWithdraw();
                lock (_gate)
                {
                    // It may have been offered the role as it gave up: offer it on.
                    if (_vacant)
                    {
                        OfferRole();
                    }
                }

                throw;
            }

            bool lead;
            lock (_gate)
            {
                lead = _vacant && TakeRole();
            }

            if (lead)
            {
                Lead(work, async: false);
            }
        }

        return work.Completion.GetAwaiter().GetResult();
    }

    /// <summary>Called under the lock: whether the caller becomes the writer (no one writes, or the role is free), taking the role if so.</summary>
    private bool TakeRole()
    {
        var take = !_writing || _vacant;
        _writing = true;
        _vacant = false;
        return take;
    }

    /// <summary>
    /// Called under the lock by a writer that leaves with work still queued: the role is free for
    /// whoever takes it first. A caller waiting synchronously is woken to take it on its own
    /// thread; with none, a drain is started on the thread pool (an asynchronous caller's wait
    /// needs the pool anyway).
    /// </summary>
    private void OfferRole()
    {
        _vacant = true;
        foreach (var work in _queue)
        {
            if (work.IsSynchronous && work.IsQueued)
            {
                work.Wake();
                return;
            }
        }

        _ = Task.Run(DrainIfVacant);
    }

    /// <summary>A drain started by <see cref="OfferRole"/>: it writes only if no one took the role meanwhile.</summary>
    private void DrainIfVacant()
    {
        lock (_gate)
        {
            if (!_vacant)
            {
                return;
            }

            _vacant = false;
        }

        Drain();
    }

    /// <summary>
    /// As the writer, writes batches until <paramref name="own"/> is durable; then offers the role
    /// to whoever takes it first (<see cref="OfferRole"/>) if work is still queued, or stops being
    /// the writer if none is. Returns false when an asynchronous caller wrote nothing because
    /// another connection holds the file's write lock (a tool writing to it): it leaves the wait
    /// for that lock to whoever takes the role, so that its own wait stays cancellable. A
    /// synchronous caller waits for the lock itself (BEGIN IMMEDIATE, with the busy timeout).
    /// </summary>
    private bool Lead(PendingWrite own, bool async)
    {
        bool begun;
        try
        {
            begun = _connection.TryBeginImmediateWithoutWaiting();
        }
        catch (Exception)
        {
            // The next batch meets the error again and fails with it.
            begun = false;
        }

        if (!begun && async)
        {
            lock (_gate)
            {
                OfferRole();
            }

            return false;
        }

        _begun = begun;
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
            }
            else
            {
                OfferRole();
            }
        }

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
