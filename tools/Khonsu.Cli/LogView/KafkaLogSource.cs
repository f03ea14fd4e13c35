using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.LogView;

/// <summary>
/// A Kafka log, read through the same <see cref="ICommitLog"/> the runtime uses: it has read the
/// whole partition when it opens, and each read first catches up with the partition's end, so
/// <c>log tail --follow</c> sees records other processes append. A record that does not decode
/// stops the log (it could be a decision), so every read fails with that record's offset. The log
/// opens from its newest checkpoint; records before it are read from the topic as far as retention kept them.
/// </summary>
internal sealed class KafkaLogSource(ICommitLog log) : LogSource
{
    public override async Task<IReadOnlyList<LogFileReader.Row>> LastAsync(int count, CancellationToken cancellationToken)
    {
        var all = await ReadAsync(LogPosition.Start, int.MaxValue, cancellationToken).ConfigureAwait(false);
        return all.Skip(Math.Max(0, all.Count - count)).ToList();
    }

    public override Task<IReadOnlyList<LogFileReader.Row>> AfterAsync(long position, CancellationToken cancellationToken)
        => ReadAsync(new LogPosition(position + 1), PageSize, cancellationToken);

    public override async Task<IReadOnlyList<LogFileReader.Row>> OfAsync(TransactionId transactionId, CancellationToken cancellationToken)
        => (await ReadAsync(LogPosition.Start, int.MaxValue, cancellationToken).ConfigureAwait(false)).Where(r => r.Record!.Record.TransactionId == transactionId).ToList();

    public override async Task<long?> LastPositionAsync(CancellationToken cancellationToken)
        => (await LastAsync(1, cancellationToken).ConfigureAwait(false)) is [var last] ? last.Position : null;

    public override Task<ICommitLog> CommitLogAsync(CancellationToken cancellationToken) => Task.FromResult(log);

    public override ValueTask DisposeAsync() => log.DisposeAsync();

    /// <summary>Records the topic's retention deleted are simply not there: reading starts at the first one left.</summary>
    private async Task<IReadOnlyList<LogFileReader.Row>> ReadAsync(LogPosition from, int limit, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadFromAsync(from, limit, cancellationToken).ConfigureAwait(false);
        }
        catch (CommitLogTruncatedException gap) when (gap.FirstAvailable > from.Value)
        {
            return await ReadFromAsync(new LogPosition(gap.FirstAvailable), limit, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<LogFileReader.Row>> ReadFromAsync(LogPosition from, int limit, CancellationToken cancellationToken)
    {
        var rows = new List<LogFileReader.Row>();
        await foreach (var logged in log.ReadFromAsync(from, cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new LogFileReader.Row(logged.Position.Value, logged, null));
            if (rows.Count == limit)
            {
                break;
            }
        }

        return rows;
    }
}
