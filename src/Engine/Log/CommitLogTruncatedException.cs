namespace Khonsu.Engine.Log;

/// <summary>
/// Records the caller needs are no longer in the log: retention deleted them (a Kafka topic's
/// retention.ms / retention.bytes, or a DeleteRecords), and nothing that covers them (a checkpoint)
/// is left. Not transient: reading again finds the same gap.
/// </summary>
internal sealed class CommitLogTruncatedException : InvalidOperationException
{
    public CommitLogTruncatedException(string message, long firstMissing, long firstAvailable)
        : base(message)
    {
        FirstMissing = firstMissing;
        FirstAvailable = firstAvailable;
    }

    /// <summary>The first position asked for and gone.</summary>
    public long FirstMissing { get; }

    /// <summary>The first position the log still holds.</summary>
    public long FirstAvailable { get; }
}
