namespace Khonsu.Mirror.DuckDb;

/// <summary>
/// How far a mirror has applied the change stream: every record up to <paramref name="ThroughPosition"/>
/// (-1 before the first), the last transaction it applied (its commit position and time), and when.
/// </summary>
public sealed record MirrorPosition(long ThroughPosition, long? LastCommitPosition, DateTimeOffset? LastCommittedAt, DateTimeOffset? AppliedAt)
{
    /// <summary>A mirror that applied nothing yet.</summary>
    public static MirrorPosition None { get; } = new(-1, null, null, null);

    /// <summary>Where the change stream continues: the position after <see cref="ThroughPosition"/>.</summary>
    public long Next => ThroughPosition + 1;
}
