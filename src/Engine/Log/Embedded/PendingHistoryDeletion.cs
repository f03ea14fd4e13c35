namespace Khonsu.Engine.Log.Embedded;

/// <summary>One batch of <see cref="LogTruncator.DeleteFinishedHistory"/>, written alone (never beside appends).</summary>
internal sealed class PendingHistoryDeletion(string after, DateTimeOffset finishedBefore, int maxTransactions) : PendingWrite<HistoryStep>
{
    public override bool Alone => true;

    protected override HistoryStep WriteWithin(LogAppender appender)
        => appender.Truncator.DeleteFinishedHistory(after, finishedBefore, maxTransactions);
}
