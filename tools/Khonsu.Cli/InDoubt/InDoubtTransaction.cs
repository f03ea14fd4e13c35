using Khonsu.Engine;

namespace Khonsu.Cli.InDoubt;

/// <summary>
/// A transaction recovery has still to drive to its outcome: a logged decision with no end record,
/// or a transaction a backend holds prepared.
/// </summary>
/// <param name="Decision">"COMMIT" or "ABORT" when the log holds a decision; null when none is logged yet (presumed abort after the lease).</param>
/// <param name="Since">When the decision was logged, or when the backend prepared it.</param>
/// <param name="Position">The decision record's log position.</param>
internal sealed record InDoubtTransaction(
    TransactionId Id,
    string? Decision,
    DateTimeOffset Since,
    long? Position,
    IReadOnlyList<InDoubtParticipant> Participants)
{
    public TimeSpan Age(DateTimeOffset now) => now - Since;
}
