namespace Khonsu.Data.Backends;

/// <summary>The commit log a database records as the one that governs it (see <see cref="LogOwnerTable"/>).</summary>
/// <param name="LogId">The log's id (<see cref="Engine.Log.LogIdentity.Id"/>).</param>
/// <param name="Log">The log for a human: its kind and where it is, as recorded.</param>
/// <param name="ClaimedAt">When it was recorded, as the database spells it.</param>
/// <param name="ClaimedBy">The node that recorded it.</param>
public sealed record LogOwner(string LogId, string Log, string? ClaimedAt, string? ClaimedBy)
{
    /// <summary>The log, its id, and when and by which node it was recorded, for an error message.</summary>
    public override string ToString() => $"{Log} (log id {LogId}){(ClaimedAt is null ? "" : $", recorded {ClaimedAt}")}{(ClaimedBy is null ? "" : $" by {ClaimedBy}")}";
}
