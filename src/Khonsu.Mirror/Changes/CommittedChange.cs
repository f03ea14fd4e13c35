namespace Khonsu.Mirror.Changes;

/// <summary>One committed transaction of a <see cref="ChangeGroup"/>: its id, its commit record's position and when it was written.</summary>
public sealed record CommittedChange(string TransactionId, long Position, DateTimeOffset CommittedAt, int Rows);
