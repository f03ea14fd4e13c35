namespace Khonsu.Engine.Certification;

/// <summary>
/// A candidate snapshot for a deferrable read-only transaction (PostgreSQL's safe snapshot, Ports
/// and Grittner, VLDB 2012, section 4.2), opened by <see cref="CommitCertifier.OpenSafeSnapshotAsync"/>
/// at a moment no writer was committing: every writer certified at or before <see cref="Position"/>
/// is visible on every backend, none after it. A read-only transaction T can only take part in an
/// anomaly as T -rw-> P -rw-> Q with Q visible to T and P not: P a writer concurrent with T's
/// snapshot that committed an rw-antidependency to Q. Only transactions that held an older snapshot
/// when the candidate opened can be such a P (a later one sees every Q at or before the position),
/// so the candidate is safe once all of them have ended and none committed with an rw-antidependency
/// to a transaction at or before the position; then T needs no certification at all.
/// </summary>
internal sealed class SafeSnapshot
{
    internal SafeSnapshot(CertificationSequence position, long writersCertified)
    {
        Position = position;
        WritersCertified = writersCertified;
    }

    /// <summary>The last position certified when it opened: the commits the transaction sees.</summary>
    public CertificationSequence Position { get; }

    /// <summary>How many writers the certifier had certified when it opened.</summary>
    internal long WritersCertified { get; }

    /// <summary>A concurrent writer committed with an rw-antidependency to a transaction the snapshot sees.</summary>
    internal bool Unsafe { get; set; }

    /// <summary>Writers wait to be certified while it takes its snapshot on every backend (see <see cref="CommitCertifier.CutTaken"/>).</summary>
    internal bool HoldsGate { get; set; }

    /// <summary>Completed once it is known to be safe or unsafe.</summary>
    internal TaskCompletionSource Settled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
