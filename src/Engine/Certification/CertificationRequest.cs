using Khonsu.Engine.Commit;

namespace Khonsu.Engine.Certification;

/// <summary>
/// A transaction asking to commit: the place in certification order its snapshot reflects (every commit at or
/// before it was visible to it), what it read and what it wrote.
/// </summary>
internal sealed record CertificationRequest(
    TransactionId TransactionId,
    CertificationSequence Snapshot,
    IReadOnlyCollection<ItemId> Reads,
    IReadOnlyCollection<ItemId> Writes)
{
    public bool ReadOnly => Writes.Count == 0;

    /// <summary>
    /// The last position certified once the transaction had taken its snapshot on every backend it
    /// read. A transaction certified after <see cref="Snapshot"/> and no later than this may have been
    /// committing on some backends and not yet on others while those snapshots were taken; null when
    /// the transaction read one backend only.
    /// </summary>
    public CertificationSequence? SnapshotsTakenBy { get; init; }

    /// <summary>
    /// The last position whose transaction may be visible to this one: the last position certified
    /// once it had taken its snapshot on every backend it read. <see cref="Snapshot"/> is only a
    /// lower bound (a commit that finished on its backends but not yet in the certifier's books is
    /// visible too), so the read-only exception of SSI, which lets a read-only transaction off when
    /// the third transaction committed after its snapshot, must use this upper bound instead. Null:
    /// nothing better is known than the position just before its own.
    /// </summary>
    public CertificationSequence? VisibleUpTo { get; init; }

    /// <summary>
    /// For each backend the transaction took a snapshot on, the position up to which every commit
    /// had finished on <em>that</em> backend when it did (see <see cref="CommitCertifier.BackendWatermark"/>):
    /// what it certainly saw there. <see cref="Snapshot"/> is the smallest of them, taken with the
    /// first; a later backend's snapshot sees more, and a transaction that waited for a backend's
    /// write lock behind a committing one saw that one's writes there. Null, or a backend missing:
    /// <see cref="Snapshot"/> holds for it.
    /// </summary>
    public IReadOnlyDictionary<string, CertificationSequence>? BackendSnapshots { get; init; }

    /// <summary>
    /// Those of <see cref="Writes"/> that landed on the newest committed row (their table has the
    /// Replace conflict policy): no write-write conflict for them; read-write conflicts still count.
    /// </summary>
    public IReadOnlyCollection<ItemId> LastWriterWins { get; init; } = [];

    /// <summary>
    /// Rows of <see cref="Reads"/> whose participant found them changed since the snapshot (or held
    /// by a writer that has not finished) and reported them instead of refusing: each must have a
    /// concurrent writer the certifier knows and the transaction did not see, or it is refused.
    /// </summary>
    public IReadOnlyCollection<ItemId> StaleReads { get; init; } = [];

    /// <summary>The stale row reads the votes report (see <see cref="ParticipantVote.StaleReads"/>).</summary>
    public static IReadOnlyCollection<ItemId> StaleReadsOf(IReadOnlyList<ParticipantVote> votes)
    {
        // Almost always none: then nothing is allocated on the way to every certification.
        for (var i = 0; i < votes.Count; i++)
        {
            if (votes[i].StaleReads.Count > 0)
            {
                return votes.SelectMany(vote => vote.StaleReads).ToHashSet();
            }
        }

        return [];
    }

    /// <summary>The rows of the votes' writes marked <see cref="RowWrite.LastWriterWins"/>, as certifier items.</summary>
    public static HashSet<ItemId> LastWriterWinsOf(IEnumerable<ParticipantVote> votes)
        => votes.SelectMany(vote => vote.Writes.Where(write => write.LastWriterWins).Select(write => ItemId.Of(vote.Participant, write.Table, write.Key))).ToHashSet();

    /// <summary>The rows a transaction's votes say it wrote, as certifier items.</summary>
    public static HashSet<ItemId> WritesOf(IEnumerable<ParticipantVote> votes)
        => votes.SelectMany(vote => vote.Writes.Select(write => ItemId.Of(vote.Participant, write.Table, write.Key))).ToHashSet();
}
