namespace Khonsu.Engine.Recovery;

/// <summary>A transaction a backend holds prepared, and since when (for the abort lease).</summary>
public sealed record PreparedTransaction(TransactionId TransactionId, DateTimeOffset PreparedAt);
