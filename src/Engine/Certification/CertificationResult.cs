namespace Khonsu.Engine.Certification;

/// <summary>The certifier's verdict, and for an abort which item and which transaction conflicted.</summary>
internal sealed record CertificationResult(bool Commit, string? Reason = null, ItemId? Item = null, TransactionId? ConflictsWith = null)
{
    public static CertificationResult Committed { get; } = new(true);

    /// <summary>
    /// For a commit: the position of the earliest-committed transaction it has an rw-antidependency
    /// to (it read what that one wrote without seeing it); null if none. A deferrable read-only
    /// transaction whose snapshot is at or after it is not safe (see <see cref="SafeSnapshot"/>).
    /// </summary>
    public CertificationSequence? EarliestOutConflict { get; init; }
}
