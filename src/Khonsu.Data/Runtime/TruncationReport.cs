namespace Khonsu.Data.Runtime;

/// <summary>What one truncation pass deleted.</summary>
/// <param name="LogRecords">Records of ended transactions deleted from the embedded log.</param>
/// <param name="TransactionLogRows">transaction_log rows past <c>TransactionLogRetention</c> (the embedded log's, or the materialised one).</param>
/// <param name="Markers">Applied-markers recovery can no longer need, over every backend.</param>
internal sealed record TruncationReport(long LogRecords, long TransactionLogRows, long Markers);
