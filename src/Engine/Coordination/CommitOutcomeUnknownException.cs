namespace Khonsu.Engine.Coordination;

/// <summary>
/// Whether the transaction committed is not known: its commit decision could not be logged or read
/// back, or (one phase) its one participant's COMMIT got no answer. Never retry such a transaction
/// blindly: recovery drives a logged one to its outcome, and a one-phase one is decided by whether
/// its COMMIT reached the database.
/// </summary>
public sealed class CommitOutcomeUnknownException : Exception
{
    /// <summary>The decision of <paramref name="transactionId"/> could not be confirmed in the log, for <paramref name="innerException"/>.</summary>
    public CommitOutcomeUnknownException(TransactionId transactionId, Exception innerException)
        : this(transactionId, $"The outcome of transaction {transactionId} is unknown: its commit decision could not be confirmed in the log ({innerException.Message}). Recovery will finish it; do not retry it blindly.", innerException)
    {
    }

    /// <summary>The outcome of <paramref name="transactionId"/> is unknown, as <paramref name="message"/> says.</summary>
    public CommitOutcomeUnknownException(TransactionId transactionId, string message, Exception innerException)
        : base(message, innerException)
        => TransactionId = transactionId;

    /// <summary>The transaction whose outcome is unknown.</summary>
    public TransactionId TransactionId { get; }
}
