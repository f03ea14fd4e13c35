using Apache.Arrow;
using Khonsu.Engine.Log;

namespace Khonsu.Mirror.Changes;

/// <summary>
/// The commit log as a change stream: every committed transaction, in commit-log order, as its row
/// changes on the tables a mirror follows (<c>Follow.&lt;backend&gt;</c> in the connection string),
/// on every backend, grouped into <see cref="ChangeGroup"/>s of Arrow batches. Reads the embedded
/// log (while the application holds it) and a Kafka log alike. See docs/mirror.md.
/// </summary>
public sealed class KhonsuChangeStream : IAsyncDisposable
{
    private readonly ChangeLogSource _source;
    private readonly SourceSchemas _schemas;

    private KhonsuChangeStream(ChangeLogSource source)
    {
        _source = source;
        _schemas = new SourceSchemas(source.Backends);
    }

    /// <summary>Opens the log and the databases <paramref name="connectionString"/> (the application's Khonsu connection string) names, to read.</summary>
    public static async Task<KhonsuChangeStream> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
        => new(await ChangeLogSource.OpenAsync(connectionString, cancellationToken).ConfigureAwait(false));

    /// <summary>The log it reads: the embedded log's file, or the Kafka log's address.</summary>
    public string LogDescription => _source.Description;

    /// <summary>
    /// The committed transactions from log position <paramref name="from"/> on that the log holds
    /// now, in groups of at most <paramref name="transactionsPerGroup"/> transactions; the sequence
    /// ends at the log's end (read again from the last group's <see cref="ChangeGroup.ThroughPosition"/>
    /// + 1 to follow it).
    /// </summary>
    /// <exception cref="ChangeStreamTruncatedException">The log no longer holds position <paramref name="from"/>.</exception>
    public async IAsyncEnumerable<ChangeGroup> ReadAsync(
        long from, int transactionsPerGroup = 100, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfLessThan(transactionsPerGroup, 1);
        var transactions = new List<CommittedChange>();
        var rows = new List<ChangeRow>();
        long? through = null;
        long? yielded = null;
        await using var records = Records(from, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (await records.MoveNextAsync().ConfigureAwait(false))
        {
            var logged = records.Current;
            through = logged.Position.Value;
            if (!await IsCommitAsync(logged, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            var writes = logged.Record.Participants
                .SelectMany(vote => vote.Writes.Select(write => (vote.Participant, Write: write)))
                .Where(w => Follows(w.Participant, w.Write.Table))
                .ToList();
            if (writes.Count == 0)
            {
                continue; // a transaction that touched no followed table is not in the stream
            }

            if (writes.FirstOrDefault(w => w.Write.Image is null && w.Write.Kind != Engine.Commit.WriteKind.Delete) is { Write: not null } bare)
            {
                // Silent nulls in the mirror would be worse than stopping: say which table lacks its images.
                throw new InvalidOperationException(
                    $"The commit record at position {logged.Position.Value} holds a row of table '{bare.Write.Table}' of backend '{bare.Participant}' without its image: " +
                    "the table was not followed when it was written, or its database lacks the capture trigger that keeps images (with Schema=Manual, run khonsu schema install after adding Follow keys; khonsu schema check reports it). " +
                    $"Read the stream from a later position (after {logged.Position.Value}).");
            }

            var transactionId = logged.Record.TransactionId.ToString();
            transactions.Add(new CommittedChange(transactionId, logged.Position.Value, logged.Record.Timestamp, writes.Count));
            rows.AddRange(writes.Select(w => new ChangeRow(logged.Position.Value, transactionId, w.Write) { Backend = w.Participant }));
            if (transactions.Count >= transactionsPerGroup)
            {
                yield return await GroupAsync(transactions, rows, through.Value, cancellationToken).ConfigureAwait(false);
                (transactions, rows, yielded) = (new List<CommittedChange>(), new List<ChangeRow>(), through);
            }
        }

        // The rest, or only records that were no commit: the reader still moves past them.
        if (through is { } last && last != yielded)
        {
            yield return await GroupAsync(transactions, rows, last, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The position of the log's last record, or null when it holds none from <paramref name="from"/> on (reads to the end).</summary>
    public async Task<(long Position, DateTimeOffset WrittenAt)?> LastRecordAsync(long from, CancellationToken cancellationToken = default)
    {
        (long, DateTimeOffset)? last = null;
        await foreach (var record in Records(from, cancellationToken).ConfigureAwait(false))
        {
            last = (record.Position.Value, record.Record.Timestamp);
        }

        return last;
    }

    /// <summary>Closes the log and the backends.</summary>
    public async ValueTask DisposeAsync() => await _source.DisposeAsync().ConfigureAwait(false);

    private async IAsyncEnumerable<LoggedRecord> Records(long from, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var records = _source.Log.ReadFromAsync(new LogPosition(from), cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await records.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (CommitLogTruncatedException gap)
            {
                throw new ChangeStreamTruncatedException(
                    $"The change stream was asked for position {from} of {_source.Description}, but the log holds records from position {gap.FirstAvailable} on: " +
                    $"truncation deleted the ones between. A mirror at position {from - 1} cannot catch up from the log; build it again from the sources (docs/mirror.md, \"Truncation\").",
                    gap.FirstMissing,
                    gap.FirstAvailable,
                    gap);
            }

            yield return records.Current;
        }
    }

    /// <summary>
    /// Whether a record commits its transaction: a commit record that is its transaction's first
    /// decision in log order (an abort logged first, by a sweeper or a shared log's certifier, wins
    /// over a later commit record). Where the log no longer remembers the decision, the record stands.
    /// </summary>
    private async ValueTask<bool> IsCommitAsync(LoggedRecord logged, CancellationToken cancellationToken)
    {
        if (logged.Record.Kind != LogRecordKind.Commit || logged.Record.Participants.Count == 0)
        {
            return false;
        }

        var decision = await _source.Log.GetDecisionAsync(logged.Record.TransactionId, cancellationToken).ConfigureAwait(false);
        return decision is null || (decision.Position == logged.Position && decision.Record.Kind == LogRecordKind.Commit);
    }

    private bool Follows(string participant, string table)
        => _source.Backends.FirstOrDefault(b => b.Name.Equals(participant, StringComparison.OrdinalIgnoreCase)) is { } backend && backend.Options.Follows(table);

    private async ValueTask<ChangeGroup> GroupAsync(List<CommittedChange> transactions, List<ChangeRow> rows, long through, CancellationToken cancellationToken)
    {
        var batches = new List<RecordBatch>();
        foreach (var table in rows.GroupBy(r => (Backend: r.Backend.ToLowerInvariant(), Table: r.Write.Table.ToLowerInvariant())))
        {
            var first = table.First();
            var schema = await _schemas.GetAsync(first.Backend, first.Write.Table, refresh: false, cancellationToken).ConfigureAwait(false);
            if (Unknown(schema, table) is not null)
            {
                // A column added since the schema was read: read it again, once.
                schema = await _schemas.GetAsync(first.Backend, first.Write.Table, refresh: true, cancellationToken).ConfigureAwait(false);
                if (Unknown(schema, table) is { } column)
                {
                    throw new InvalidOperationException(
                        $"Table '{schema.Table}' of backend '{schema.Backend}': the commit log holds a row with column '{column}', which the table no longer has (dropped or renamed since). The change stream cannot give it a type; rebuild the mirror from the sources.");
                }
            }

            batches.Add(ChangeBatchBuilder.Build(schema, table.ToList()));
        }

        return new ChangeGroup(transactions, batches, through);
    }

    private static string? Unknown(SourceTable schema, IEnumerable<ChangeRow> rows)
        => rows.SelectMany(r => r.Write.Image?.Columns ?? []).FirstOrDefault(c => schema.IndexOf(c) < 0);
}
