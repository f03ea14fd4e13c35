namespace Khonsu.Engine.Commit;

/// <summary>
/// What a participant reports when it has prepared: its name in the connection string, the rows
/// it wrote, and whether those rows carry images that recovery must redo if the participant
/// loses its local transaction (true for SQLite, which cannot prepare durably).
/// <paramref name="ReadOnly"/> says the local transaction wrote nothing at all; such a vote never
/// goes to the log (it has nothing to make durable), so the codec does not carry it.
/// </summary>
public sealed record ParticipantVote(string Participant, bool NeedsRedo, IReadOnlyList<RowWrite> Writes, bool ReadOnly = false)
{
    /// <summary>
    /// Rows read that the participant's validation found changed since the transaction's snapshot,
    /// or held by a writer that has not finished (see <see cref="ITransactionParticipant.StaleReads"/>).
    /// Each is an rw-antidependency the certifier must know the other end of; the log does not carry them.
    /// </summary>
    internal IReadOnlyCollection<ItemId> StaleReads { get; init; } = [];
}
