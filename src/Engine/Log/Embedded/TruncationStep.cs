namespace Khonsu.Engine.Log.Embedded;

/// <summary>What one batch of log truncation did, and where the next one starts.</summary>
/// <param name="Next">The position the next batch scans from.</param>
/// <param name="Transactions">Transactions whose records were deleted.</param>
/// <param name="Records">Records deleted.</param>
/// <param name="Done">Nothing old enough is left past <paramref name="Next"/>: the pass can stop.</param>
internal sealed record TruncationStep(long Next, int Transactions, int Records, bool Done);
