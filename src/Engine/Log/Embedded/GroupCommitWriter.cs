using System.Threading.Channels;

namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// The log's only writer. Callers queue work; one loop takes everything queued, writes it in one
/// SQLite transaction and completes every caller at once, so concurrent commits share one sync.
/// While a batch syncs, the next one gathers in the queue: the slower the disk, the larger the batches.
/// </summary>
internal sealed class GroupCommitWriter : IAsyncDisposable
{
    // Bounds the time the first caller of a batch waits behind the others.
    private const int MaxBatch = 1024;

    private readonly RawSqlite _connection;
    private readonly LogAppender _appender;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private long _syncCount;

    public GroupCommitWriter(RawSqlite connection)
    {
        _connection = connection;
        _appender = new LogAppender(connection);

        // An async loop rather than TaskCreationOptions.LongRunning: with an async delegate the
        // dedicated thread would end at the first await. The loop holds no thread while idle and
        // blocks one only for the length of a batch's SQLite transaction.
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Write transactions committed so far: one sync each, however many records they held.</summary>
    public long SyncCount => Interlocked.Read(ref _syncCount);

    /// <summary>
    /// Queues the work and waits until it is durable. Cancelling the wait withdraws the work if
    /// the writer has not taken it yet; once taken, it is written all the same, and only the wait ends.
    /// </summary>
    public async ValueTask<TResult> SubmitAsync<TResult>(PendingWrite<TResult> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_queue.Writer.TryWrite(work))
        {
            throw new ObjectDisposedException(nameof(EmbeddedCommitLog), "The commit log is closed.");
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
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _connection.Dispose();
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingWrite>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var work))
            {
                if (!work.TryTake())
                {
                    continue;
                }

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
                batch.Clear();
            }
        }
    }

    /// <summary>Never throws: a failed batch fails its own callers, and the loop goes on to the next.</summary>
    /// <param name="groupCommit">Appends and notes (counted in the group-commit metrics), or housekeeping alone.</param>
    private void WriteBatch(List<PendingWrite> batch, bool groupCommit)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            _connection.Execute("BEGIN IMMEDIATE");
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
