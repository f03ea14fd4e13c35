namespace Khonsu.Engine.Coordination;

/// <summary>
/// The log settled the transaction as aborted although this coordinator tried to commit it: a
/// recovery sweeper aborted it first after its lease ran out.
/// </summary>
internal sealed class TransactionAbortedException(TransactionId transactionId, string reason)
    : Exception($"Transaction {transactionId} was aborted: {reason}")
{
    public TransactionId TransactionId { get; } = transactionId;

    public string Reason { get; } = reason;
}
