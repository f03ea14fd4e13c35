namespace Khonsu.Engine.Log;

/// <summary>
/// Why a shared log decided a commit record is its transaction's abort: what its certifier said,
/// and, when it named them, the item and the other transaction of the conflict.
/// </summary>
internal sealed record CommitRefusal(string? Reason, ItemId? Item = null, TransactionId? ConflictsWith = null);
