using Khonsu.Engine;

namespace Khonsu.Cli.InDoubt;

/// <summary>
/// A transaction recovery has still to drive to its outcome: a logged decision with no end record,
/// or a transaction a backend holds prepared.
/// </summary>
/// <param name="Decision">"COMMIT" or "ABORT" when the log holds a decision; null when none is logged yet (presumed abort).</param>
/// <param name="Since">When the decision was logged, or when the backend prepared it.</param>
/// <param name="Position">The decision record's log position.</param>
/// <param name="Category">In doubt, to roll back, or closed (an abort with nothing left prepared).</param>
/// <param name="AbortsAtOnce">
/// Prepared with no decision under an embedded log: whoever holds the log next (the application
/// when it starts, or khonsu recover while it is stopped) aborts it at once, with no lease.
/// </param>
internal sealed record InDoubtTransaction(
    TransactionId Id,
    string? Decision,
    DateTimeOffset Since,
    long? Position,
    IReadOnlyList<InDoubtParticipant> Participants,
    InDoubtCategory Category = InDoubtCategory.InDoubt,
    bool AbortsAtOnce = false)
{
    public TimeSpan Age(DateTimeOffset now) => now - Since;
}
