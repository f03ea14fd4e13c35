namespace Khonsu.Engine.Log.Embedded;

/// <summary>A participant status note for transaction_log; not a log record.</summary>
internal sealed class PendingNote(TransactionId transactionId, string participant, string status, string? reason) : PendingWrite<bool>
{
    protected override bool WriteWithin(LogAppender appender)
    {
        appender.Note(transactionId, participant, status, reason);
        return true;
    }
}
