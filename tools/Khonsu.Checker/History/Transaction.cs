namespace Khonsu.Checker.History;

/// <summary>
/// One transaction of a history: its invocation paired with its completion. For an
/// <see cref="Outcome.Unknown"/> transaction the ops are those of the invocation (writes known,
/// reads not) or of the completion if the client saw them; the checker never trusts its reads.
/// </summary>
public sealed record Transaction(string Id, int Process, Outcome Outcome, IReadOnlyList<MicroOp> Ops, long InvokedAt = 0, long CompletedAt = 0)
{
    /// <summary>The ops the invocation planned (reads without values), when the history recorded them; null in hand-made histories.</summary>
    public IReadOnlyList<MicroOp>? Planned { get; init; }

    public override string ToString() => $"{Id} ({Outcome}: {string.Join(' ', Ops)})";
}
