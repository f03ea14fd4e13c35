using Khonsu.Engine.Log;

namespace Khonsu.Engine.Certification;

/// <summary>
/// A transaction asking to commit: the log position its snapshot reflects (every commit at or
/// before it was visible to it), what it read and what it wrote.
/// </summary>
public sealed record CertificationRequest(
    TransactionId TransactionId,
    LogPosition Snapshot,
    IReadOnlyCollection<ItemId> Reads,
    IReadOnlyCollection<ItemId> Writes)
{
    public bool ReadOnly => Writes.Count == 0;
}
