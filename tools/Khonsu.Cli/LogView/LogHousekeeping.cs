namespace Khonsu.Cli.LogView;

/// <summary>
/// How much the embedded log's file holds, for <c>khonsu status</c>: records left (truncation deletes
/// those of ended transactions a minute after they end), the highest position truncated, and
/// transaction_log's rows (kept for TransactionLogRetention).
/// </summary>
internal sealed record LogHousekeeping(long Records, long? OldestPosition, long? TruncatedThrough, long TransactionLogRows, string? OldestDecidedAt);
