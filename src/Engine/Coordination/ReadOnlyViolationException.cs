namespace Khonsu.Engine.Coordination;

/// <summary>A transaction declared read-only wrote anyway (a function or trigger did): it was rolled back everywhere.</summary>
internal sealed class ReadOnlyViolationException(TransactionId transactionId, string participant)
    : Exception($"Transaction {transactionId} was declared read-only but wrote on backend '{participant}'; it was rolled back on every backend.")
{
    public TransactionId TransactionId { get; } = transactionId;

    public string Participant { get; } = participant;
}
