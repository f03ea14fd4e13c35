using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.LogView;

/// <summary>
/// A Kafka log, read through the same <see cref="ICommitLog"/> the runtime uses: it has read the
/// whole partition when it opens, and each read first catches up with the partition's end, so
/// <c>log tail --follow</c> sees records other processes append. A record that does not decode
/// stops the log (it could be a decision), so every read fails with that record's offset.
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

    private async Task<IReadOnlyList<LogFileReader.Row>> ReadAsync(LogPosition from, int limit, CancellationToken cancellationToken)
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
