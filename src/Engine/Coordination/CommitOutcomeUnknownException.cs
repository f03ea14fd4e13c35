namespace Khonsu.Engine.Coordination;

/// <summary>
/// The commit decision could not be logged or read back, so whether the transaction committed is
/// not known yet. Never retry such a transaction blindly: recovery will drive it to its logged
/// outcome, and the outcome can be asked of the log by transaction id.
/// </summary>
public sealed class CommitOutcomeUnknownException(TransactionId transactionId, Exception innerException)
    : Exception($"The outcome of transaction {transactionId} is unknown: its commit decision could not be confirmed in the log ({innerException.Message}). Recovery will finish it; do not retry it blindly.", innerException)
{
    public TransactionId TransactionId { get; } = transactionId;
}
