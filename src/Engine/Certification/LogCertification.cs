using Khonsu.Engine.Log;

namespace Khonsu.Engine.Certification;

/// <summary>
/// What a commit record carries so that every process reading a shared log certifies it the same
/// way (see <see cref="LogOrderCertifier"/>): the log position its snapshot reflects, its
/// isolation, whether it took snapshots on several backends, and what it read. What it wrote is in
/// the record's votes already.
/// </summary>
internal sealed record LogCertification(LogPosition Snapshot, bool Serializable, bool SeveralSnapshots, IReadOnlyList<ItemId> Reads);
