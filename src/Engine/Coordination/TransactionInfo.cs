namespace Khonsu.Engine.Coordination;

/// <summary>What the coordinator records about a transaction besides its participants.</summary>
public sealed record TransactionInfo(TransactionId Id, DateTimeOffset StartedAt, string? Operation);
