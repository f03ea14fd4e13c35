namespace Khonsu.Engine.Log;

/// <summary>
/// What a commit record carries so that every process reading a shared log certifies it the same
/// way: the log position its snapshot reflects (every record at or before it was seen), its
/// isolation, whether it took snapshots on several backends, and what it read. What it wrote is in
/// the record's votes already. The log only carries it; certifying it is not the log's business.
/// </summary>
internal sealed record LogCertification(LogPosition Snapshot, bool Serializable, bool SeveralSnapshots, IReadOnlyList<ItemId> Reads);
