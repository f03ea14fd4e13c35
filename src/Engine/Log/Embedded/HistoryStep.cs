namespace Khonsu.Engine.Log.Embedded;

/// <summary>What one batch of transaction_log retention did, and where the next one starts.</summary>
/// <param name="After">The last tx_id looked at: the next batch starts after it.</param>
/// <param name="Rows">transaction_log rows deleted.</param>
/// <param name="Done">No transaction old enough is left after <paramref name="After"/>.</param>
internal sealed record HistoryStep(string After, int Rows, bool Done);
