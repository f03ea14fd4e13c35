namespace Khonsu.Mirror;

/// <summary>
/// How far a mirror is behind its commit log: log positions between the mirror's and the log's
/// last record, and the age of the oldest commit it has not applied yet (zero when it has applied
/// every commit the log holds).
/// </summary>
public sealed record MirrorLag(long Positions, TimeSpan Time);
