namespace Khonsu.Mirror.Changes;

/// <summary>
/// The change stream was asked for records the commit log no longer holds: truncation (the embedded
/// log's, a Kafka topic's retention) deleted them. Not transient: a mirror behind that point cannot
/// catch up from the log and must be built again from the sources (docs/mirror.md).
/// </summary>
public sealed class ChangeStreamTruncatedException : InvalidOperationException
{
    internal ChangeStreamTruncatedException(string message, long firstMissing, long firstAvailable, Exception inner)
        : base(message, inner)
    {
        FirstMissing = firstMissing;
        FirstAvailable = firstAvailable;
    }

    /// <summary>The first position asked for and gone.</summary>
    public long FirstMissing { get; }

    /// <summary>The first position the log still holds.</summary>
    public long FirstAvailable { get; }
}
