namespace Khonsu.Engine.Certification;

/// <summary>The certifier's verdict, and for an abort which item and which transaction conflicted.</summary>
public sealed record CertificationResult(bool Commit, string? Reason = null, ItemId? Item = null, TransactionId? ConflictsWith = null)
{
    public static CertificationResult Committed { get; } = new(true);
}
