namespace Khonsu.Engine.Log.Embedded;

/// <summary>One batch of <see cref="LogTruncator.TruncateEnded"/>, written alone (never beside appends).</summary>
internal sealed class PendingTruncation(long from, DateTimeOffset endedBefore, Func<TransactionId, bool> keep, int maxScanned, int maxTransactions)
    : PendingWrite<TruncationStep>
{
    public override bool Alone => true;

    protected override TruncationStep WriteWithin(LogAppender appender)
        => appender.Truncator.TruncateEnded(from, endedBefore, keep, maxScanned, maxTransactions);
}
