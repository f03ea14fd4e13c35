namespace Khonsu.Engine.Log;

/// <summary>
/// The outcome of a durable append. <see cref="Decision"/> is the first decision record
/// (commit or abort) of the transaction in log order, which settles the race between a
/// coordinator's late commit and a sweeper's abort: whichever came first wins.
/// </summary>
public sealed record AppendResult(LogPosition Position, LogRecordKind? Decision);
