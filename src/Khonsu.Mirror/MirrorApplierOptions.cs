using Khonsu.Mirror.Changes;

namespace Khonsu.Mirror;

/// <summary>How a <see cref="MirrorApplier"/> runs.</summary>
public sealed record MirrorApplierOptions
{
    /// <summary>Source transactions applied per DuckDB transaction at most (default 100): fewer commits on a backlog, and still a cut at a transaction's end.</summary>
    public int TransactionsPerGroup { get; init; } = 100;

    /// <summary>How long a caught-up applier waits before it looks at the log again (default 200 ms).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Called after each group is committed in the mirror (progress output, tests).</summary>
    public Action<ChangeGroup>? Applied { get; init; }
}
