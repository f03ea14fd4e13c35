using Khonsu.Cli.InDoubt;
using Khonsu.Cli.Infrastructure;
using Khonsu.Log.Kafka;

namespace Khonsu.Cli.Top;

/// <summary>One refresh of <c>khonsu top</c>: everything it shows, read at <see cref="At"/>.</summary>
/// <param name="Log">The commit log's file or kafka:// address.</param>
/// <param name="LastPosition">The last record read from the log; null while it is empty.</param>
/// <param name="Backends">The last probe of each backend (repeated every few refreshes).</param>
/// <param name="InDoubt">From the same scan as <c>khonsu status</c>; null until the first scan.</param>
/// <param name="InDoubtAfter">How long a transaction stays between prepare and end before top shows it as in doubt.</param>
/// <param name="Problem">Why the log or the scan could not be read this time, if so (scrubbed of secrets).</param>
internal sealed record TopFrame(
    DateTimeOffset At,
    string Log,
    long? LastPosition,
    long Undecodable,
    ActivityFigures Activity,
    IReadOnlyList<BackendProbe> Backends,
    IReadOnlyList<InDoubtTransaction>? InDoubt,
    TimeSpan PrepareLease,
    TimeSpan InDoubtAfter,
    string? Problem)
{
    /// <summary>
    /// What is in doubt or to roll back for <see cref="InDoubtAfter"/> or more: a running application
    /// always has commits between prepare and end, and those are not an operator's concern.
    /// </summary>
    public IReadOnlyList<InDoubtTransaction> Stuck
        => InDoubt?.Where(t => t.Category != InDoubtCategory.Closed && t.Age(At) >= InDoubtAfter).ToList() ?? [];

    /// <summary>For a Kafka log: its end and each process as it last published itself (<c>khonsu log lag</c>); null otherwise or until the first scan.</summary>
    public (long End, IReadOnlyList<KafkaProcessLag> Processes)? Lag { get; init; }

    /// <summary>Transactions between prepare and end for less than <see cref="InDoubtAfter"/>: committing now.</summary>
    public int Committing => InDoubt?.Count(t => t.Category != InDoubtCategory.Closed && t.Age(At) < InDoubtAfter) ?? 0;
}
