namespace Khonsu.Checker.History;

/// <summary>
/// One line of a recorded history: an invocation (<see cref="Outcome"/> null) or a completion.
/// Invocations carry the planned ops (writes with their values, reads without values);
/// completions carry the ops as they happened.
/// </summary>
public sealed record HistoryEvent(string TransactionId, int Process, Outcome? Outcome, IReadOnlyList<MicroOp> Ops, long Time);
