using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Coordination;

/// <summary>
/// Certification in this process alone: the log (embedded) serves one process, so its
/// <see cref="CommitCertifier"/> sees every transaction that commits through the log.
/// </summary>
internal sealed class LocalCertification(CommitCertifier? certifier) : CertificationStrategy(certifier)
{
    /// <summary>One database commits atomically by itself, and no other process needs its record.</summary>
    public override bool AllowsOnePhase(TransactionInfo transaction) => true;

    /// <summary>The process waited for every writer that could make the snapshot unsafe: all are its own.</summary>
    public override bool TrustsSafeSnapshots => true;

    public override ValueTask<CertificationVerdict> CertifyAsync(
        TransactionInfo transaction, IReadOnlyList<ParticipantVote> votes, Func<TransactionInfo, LogRecord> newRecord, bool async, CancellationToken cancellationToken)
    {
        var writes = CertificationRequest.WritesOf(votes);
        return writes.Count == 0 && TrustsSafeSnapshot(transaction)
            ? ValueTask.FromResult(CertificationVerdict.Unchecked)
            : CertifyLocallyAsync(transaction, votes, writes, async, cancellationToken);
    }

    public override LogRecord CommitRecord(LogRecord commit, TransactionInfo transaction) => commit;
}
