namespace Khonsu.Engine.Log.Embedded;

/// <summary>A record to append; it was encoded by its caller, so a record the codec refuses never reaches a batch.</summary>
internal sealed class PendingAppend(LogRecord record, byte[] encoded) : PendingWrite<AppendResult>
{
    protected override AppendResult WriteWithin(LogAppender appender) => appender.Append(record, encoded);
}
