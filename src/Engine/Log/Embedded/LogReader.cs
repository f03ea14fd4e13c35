using System.Runtime.CompilerServices;

namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// Reads the log through its own connection, so a read never waits for the writer's sync (WAL
/// readers see the last committed batch). The connection serves one read at a time; a long read
/// goes page by page, letting go between pages, so it neither holds others up nor buffers the log.
/// </summary>
internal sealed class LogReader(RawSqlite connection) : IAsyncDisposable
{
    internal const int PageSize = 256;

    // min() in a subquery reads the (tx_id, kind) index alone; ORDER BY position LIMIT 1 would sort in a temporary b-tree.
    private const string FirstDecision = $"""
        SELECT position, record FROM khonsu_log
        WHERE position = (SELECT min(position) FROM khonsu_log WHERE tx_id = ?1 AND kind IN ('{LogText.Commit}', '{LogText.Abort}'))
        """;

    private const string RecordsFrom = "SELECT position, record FROM khonsu_log WHERE position >= ?1 ORDER BY position LIMIT ?2";

    private const string UnfinishedFrom = """
        SELECT log.position, log.record FROM khonsu_log_unfinished AS unfinished JOIN khonsu_log AS log ON log.position = unfinished.position
        WHERE unfinished.position >= ?1 ORDER BY unfinished.position LIMIT ?2
        """;

    private const string Truncated = "SELECT max(position) FROM khonsu_log_truncated";

    private readonly SemaphoreSlim _turn = new(1, 1);
    private bool _closed;

    public async ValueTask<LoggedRecord?> FirstDecisionAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var query = connection.Prepare(FirstDecision);
            return query.Bind(1, transactionId.ToString()).Step() ? ReadRow(query) : null;
        }
        finally
        {
            _turn.Release();
        }
    }

    public async IAsyncEnumerable<LoggedRecord> ReadFromAsync(LogPosition from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (await TruncatedThroughAsync(cancellationToken).ConfigureAwait(false) is { } truncated && from <= truncated)
        {
            throw new CommitLogTruncatedException(
                $"Commit log '{connection.Path}': the records of transactions that ended up to position {truncated} were truncated; the log is read from position {truncated.Value + 1} on (decisions recovery still needs are kept: see ReadUnfinishedAsync).",
                from.Value,
                truncated.Value + 1);
        }

        await foreach (var record in ReadPagesAsync(RecordsFrom, from.Value, cancellationToken).ConfigureAwait(false))
        {
            yield return record;
        }
    }

    /// <summary>The highest position whose records truncation deleted, or null.</summary>
    public async ValueTask<LogPosition?> TruncatedThroughAsync(CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var query = connection.Prepare(Truncated);
            return query.Step() && !query.IsNull(0) ? new LogPosition(query.Int64(0)) : null;
        }
        finally
        {
            _turn.Release();
        }
    }

    public IAsyncEnumerable<LoggedRecord> ReadUnfinishedAsync(CancellationToken cancellationToken)
        => ReadPagesAsync(UnfinishedFrom, 0, cancellationToken);

    /// <summary>Waits for reads in progress, then closes the connection; later reads fail.</summary>
    public async ValueTask DisposeAsync()
    {
        await _turn.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_closed)
            {
                _closed = true;
                connection.Dispose();
            }
        }
        finally
        {
            // Released, not disposed: a read still waiting for its turn must wake up to fail.
            _turn.Release();
        }
    }

    private async IAsyncEnumerable<LoggedRecord> ReadPagesAsync(string sql, long from, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var page = await ReadPageAsync(sql, from, cancellationToken).ConfigureAwait(false);
            foreach (var record in page)
            {
                yield return record;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            from = page[^1].Position.Value + 1;
        }
    }

    private async ValueTask<List<LoggedRecord>> ReadPageAsync(string sql, long from, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var page = new List<LoggedRecord>();
            using var query = connection.Prepare(sql);
            query.Bind(1, from).Bind(2, PageSize);
            while (query.Step())
            {
                page.Add(ReadRow(query));
            }

            return page;
        }
        finally
        {
            _turn.Release();
        }
    }

    private async ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_closed)
        {
            _turn.Release();
            throw new ObjectDisposedException(nameof(EmbeddedCommitLog), "The commit log is closed.");
        }
    }

    private LoggedRecord ReadRow(RawStatement row)
    {
        var position = row.Int64(0);
        try
        {
            return new LoggedRecord(new LogPosition(position), LogRecordCodec.Decode(row.Blob(1)));
        }
        catch (InvalidDataException error)
        {
            throw new InvalidDataException($"Commit log '{connection.Path}', position {position}: {error.Message}", error);
        }
    }
}
