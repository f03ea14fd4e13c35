using System.Data.Common;
using System.Runtime.ExceptionServices;
using Khonsu.Data.Backends;
using Khonsu.Engine.Diagnostics;
using Khonsu.Engine.Log;

namespace Khonsu.Data.Runtime;

/// <summary>
/// Keeps transaction_log on one backend in step with a Kafka log (key <c>TransactionLog</c>): a
/// background loop reads the log from the stored progress on, in order, and applies it in batches
/// (<see cref="TransactionLogWriter"/>), then polls for more. A failing backend or log never
/// reaches a commit: the loop logs the failure and retries with a growing delay.
/// </summary>
internal sealed class TransactionLogMaterializer : IAsyncDisposable
{
    /// <summary>Records per local transaction: enough to amortise the commit, few enough not to hold a SQLite file's write lock long.</summary>
    public const int BatchSize = 200;

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(10);

    private readonly ICommitLog _log;
    private readonly KhonsuBackend _backend;
    private readonly TransactionLogWriter _writer;
    private readonly TimeSpan _pollInterval;
    private readonly Diagnostics.KhonsuLog _logger;
    private readonly Func<string, string> _scrub;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _lastApplied = TransactionLogWriter.NothingApplied;
    private long _lag;

    /// <param name="logName">The log's name in the progress table (a Kafka log's topic).</param>
    /// <param name="pollInterval">How long to wait, once caught up, before looking for new records.</param>
    /// <param name="scrub">Removes secrets (passwords, SASL settings) from a failure's message before it is logged.</param>
    public TransactionLogMaterializer(
        ICommitLog log, KhonsuBackend backend, TransactionLogTables tables, string logName, TimeSpan pollInterval, Diagnostics.KhonsuLog logger, Func<string, string> scrub)
    {
        _log = log;
        _backend = backend;
        _writer = new TransactionLogWriter(tables, logName);
        _pollInterval = pollInterval;
        _logger = logger;
        _scrub = scrub;
    }

    /// <summary>The backend transaction_log is materialised into.</summary>
    public KhonsuBackend Backend => _backend;

    /// <summary>The last log position known applied to the table (by this process or another), -1 before any.</summary>
    public long LastApplied => Interlocked.Read(ref _lastApplied);

    /// <summary>Records of the log not yet applied, as of the last look at the log (also the khonsu.transaction_log.lag gauge).</summary>
    public long Lag => Interlocked.Read(ref _lag);

    /// <summary>
    /// Deletes the rows of transactions that finished before <paramref name="finishedBefore"/> (key
    /// <c>TransactionLogRetention</c>), except those of <paramref name="unfinished"/> transactions,
    /// in batches of <see cref="Engine.Log.EmbeddedCommitLog"/>'s size, each a short local
    /// transaction under the materialisers' lock. Every process does it; a batch another process did
    /// first simply finds nothing.
    /// </summary>
    /// <returns>How many rows were deleted.</returns>
    public async ValueTask<long> DeleteHistoryAsync(DateTimeOffset finishedBefore, IReadOnlySet<Engine.TransactionId> unfinished, CancellationToken cancellationToken)
    {
        var connection = _backend.CreateConnection();
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            long deleted = 0;
            var after = string.Empty;
            while (true)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var (last, rows, done) = await _writer.DeleteFinishedAsync(connection, after, finishedBefore, unfinished, HistoryBatch, cancellationToken).ConfigureAwait(false);
                KhonsuTelemetry.RecordTruncation(KhonsuTelemetry.TransactionLogRows, rows, System.Diagnostics.Stopwatch.GetElapsedTime(started), _backend.Name);
                deleted += rows;
                if (done)
                {
                    return deleted;
                }

                after = last;
            }
        }
    }

    /// <summary>Transactions one retention batch looks at: a short hold of the materialisers' lock (and of a SQLite file's write lock).</summary>
    private const int HistoryBatch = 200;

    public void Start()
    {
        KhonsuTelemetry.TrackTransactionLog(this, _backend.Name, () => Lag);
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        KhonsuTelemetry.UntrackTransactionLog(this);
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                await PassAsync(cancellationToken).ConfigureAwait(false);
                if (failures > 0)
                {
                    _logger.TransactionLogResumed(_backend.Name, LastApplied);
                    failures = 0;
                }

                wait = _pollInterval;
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                failures++;
                wait = Backoff(failures);
                _logger.TransactionLogFailed(_backend.Name, Lag, (long)wait.TotalMilliseconds, _scrub($"{error.GetType().Name}: {OneLine(error.Message)}"));
            }

            try
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Applies everything the log holds past the stored progress, batch by batch.</summary>
    private async Task PassAsync(CancellationToken cancellationToken)
    {
        var connection = _backend.CreateConnection();
        await using (connection.ConfigureAwait(false))
        {
            // The lag is measured even while the backend fails, so the gauge shows the table falling behind.
            ExceptionDispatchInfo? backendError = null;
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                SetApplied(await _writer.ReadProgressAsync(connection, null, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception error) when (!cancellationToken.IsCancellationRequested)
            {
                backendError = ExceptionDispatchInfo.Capture(error);
            }

            var pending = await ReadPendingAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _lag, pending.Count);
            backendError?.Throw();

            var next = 0;
            while (next < pending.Count)
            {
                var batch = pending.GetRange(next, Math.Min(BatchSize, pending.Count - next));
                SetApplied(await _writer.ApplyAsync(connection, batch, cancellationToken).ConfigureAwait(false));

                // Another process may have applied further than this batch: skip what it did.
                while (next < pending.Count && pending[next].Position.Value <= LastApplied)
                {
                    next++;
                }

                Interlocked.Exchange(ref _lag, pending.Count - next);
            }
        }
    }

    /// <summary>
    /// Every record after the last applied, up to the log's end as of now: the Kafka log serves
    /// them from memory, and reading them in one go tells the lag.
    /// </summary>
    private async Task<List<LoggedRecord>> ReadPendingAsync(CancellationToken cancellationToken)
    {
        var from = LastApplied + 1;
        try
        {
            return await ReadFromAsync(from, cancellationToken).ConfigureAwait(false);
        }
        catch (CommitLogTruncatedException gap) when (gap.FirstAvailable > from)
        {
            // Retention deleted records before they were materialised: they are gone for good, so
            // the table goes on from what is left rather than stop (and says so, each pass until it has).
            _logger.TransactionLogGap(_backend.Name, from, gap.FirstAvailable - 1);
            return await ReadFromAsync(gap.FirstAvailable, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<List<LoggedRecord>> ReadFromAsync(long from, CancellationToken cancellationToken)
    {
        var pending = new List<LoggedRecord>();
        await foreach (var logged in _log.ReadFromAsync(new LogPosition(from), cancellationToken).ConfigureAwait(false))
        {
            pending.Add(logged);
        }

        return pending;
    }

    /// <summary>The stored progress is the truth: if a DBA resets it to rebuild the table, the next pass starts over.</summary>
    private void SetApplied(long applied) => Interlocked.Exchange(ref _lastApplied, applied);

    private static TimeSpan Backoff(int failures)
        => TimeSpan.FromMilliseconds(Math.Min(LastRetry.TotalMilliseconds, FirstRetry.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16))));

    private static string OneLine(string message)
    {
        var newline = message.IndexOfAny(['\r', '\n']);
        return newline < 0 ? message : message[..newline];
    }
}
