using Khonsu.Cli.Infrastructure;
using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.LogView;

/// <summary>
/// The commit log's records as the tool reads them, from the embedded log's file
/// (<see cref="EmbeddedLogSource"/>) or from a Kafka log (<see cref="KafkaLogSource"/>), decoded.
/// </summary>
internal abstract class LogSource : IAsyncDisposable
{
    /// <summary>How many records <see cref="AfterAsync"/> returns at most.</summary>
    public const int PageSize = 1000;

    public static async Task<LogSource> OpenAsync(KhonsuTarget target, CancellationToken cancellationToken)
        => target.IsKafkaLog
            ? new KafkaLogSource(await target.OpenLogForReadingAsync(cancellationToken).ConfigureAwait(false))
            : new EmbeddedLogSource(target);

    /// <summary>The last <paramref name="count"/> records, in log order.</summary>
    public abstract Task<IReadOnlyList<LogFileReader.Row>> LastAsync(int count, CancellationToken cancellationToken);

    /// <summary>Up to <see cref="PageSize"/> records after <paramref name="position"/>, in log order.</summary>
    public abstract Task<IReadOnlyList<LogFileReader.Row>> AfterAsync(long position, CancellationToken cancellationToken);

    /// <summary>Every record of one transaction, in log order.</summary>
    public abstract Task<IReadOnlyList<LogFileReader.Row>> OfAsync(TransactionId transactionId, CancellationToken cancellationToken);

    /// <summary>The last record's position, or null when the log is empty.</summary>
    public abstract Task<long?> LastPositionAsync(CancellationToken cancellationToken);

    /// <summary>What the log's file holds and what truncation deleted; null for a log that is not a file (Kafka).</summary>
    public virtual Task<LogHousekeeping?> HousekeepingAsync(CancellationToken cancellationToken) => Task.FromResult<LogHousekeeping?>(null);

    /// <summary>The log as recovery reads it (decisions, unfinished transactions); opened on first use, closed with this source.</summary>
    public abstract Task<ICommitLog> CommitLogAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
