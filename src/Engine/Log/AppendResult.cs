namespace Khonsu.Engine.Log;

/// <summary>
/// The outcome of a durable append. <see cref="Decision"/> is the first decision record
/// (commit or abort) of the transaction in log order, which settles the race between a
/// coordinator's late commit and a sweeper's abort: whichever came first wins.
/// </summary>
internal sealed record AppendResult(LogPosition Position, LogRecordKind? Decision)
{
    /// <summary>
    /// Set when a log that certifies its commit records in log order (a shared log) refused the
    /// transaction's commit record: its abort decision, and why.
    /// </summary>
    public CommitRefusal? Refusal { get; init; }
}
