using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.SharedLog;

namespace Khonsu.Engine.Coordination;

/// <summary>
/// How the coordinator certifies a prepared transaction, chosen once, from the log the runtime
/// opened (<see cref="For"/>): in this process alone (<see cref="LocalCertification"/>, the
/// embedded log) or, on a log several processes share, also in that log's order
/// (<see cref="LogOrderCertification"/>). Both certify with this process's
/// <see cref="CommitCertifier"/> when there is one, and tell it how each commit ends.
/// </summary>
internal abstract class CertificationStrategy
{
    private readonly CommitCertifier? _certifier;

    private protected CertificationStrategy(CommitCertifier? certifier) => _certifier = certifier;

    /// <summary>The strategy for <paramref name="log"/>: log order for a shared log, local otherwise.</summary>
    /// <param name="certifier">This process's certifier; null to certify nothing locally (plain two-phase commit).</param>
    public static CertificationStrategy For(ICommitLog log, CommitCertifier? certifier)
        => log is ISharedCommitLog shared ? new LogOrderCertification(shared, certifier) : new LocalCertification(certifier);

    /// <summary>Whether a transaction whose one participant can commit in one phase may: its own COMMIT the commit point, nothing in the log.</summary>
    public abstract bool AllowsOnePhase(TransactionInfo transaction);

    /// <summary>
    /// Whether a safe snapshot taken in this process can take part in no anomaly, so that a
    /// deferrable transaction on it needs neither read validation nor certification.
    /// </summary>
    public abstract bool TrustsSafeSnapshots { get; }

    /// <summary>Whether the transaction is read-only on a safe snapshot this strategy trusts (see <see cref="TrustsSafeSnapshots"/>).</summary>
    public bool TrustsSafeSnapshot(TransactionInfo transaction) => transaction.SafeSnapshot && TrustsSafeSnapshots;

    /// <summary>
    /// The transaction's snapshot in the log's own order (<see cref="TransactionInfo.LogSnapshot"/>),
    /// taken as it reaches its first backend; null when the log does not certify.
    /// </summary>
    public virtual LogPosition? TakeLogSnapshot() => null;

    /// <summary>
    /// Whether committing the prepared transaction now keeps every transaction certified so far
    /// serializable (or, at Snapshot, free of write-write conflicts). Throws only what stops it
    /// from deciding (cancelled, the log failed); the caller aborts the transaction either way.
    /// </summary>
    /// <param name="newRecord">A bare commit record of the transaction, for a strategy that must log a read-only one.</param>
    /// <param name="async">False for a synchronous commit: waits block the caller's thread (see <see cref="CommitCoordinator.CommitAsync"/>).</param>
    public abstract ValueTask<CertificationVerdict> CertifyAsync(
        TransactionInfo transaction, IReadOnlyList<ParticipantVote> votes, Func<TransactionInfo, LogRecord> newRecord, bool async, CancellationToken cancellationToken);

    /// <summary>The commit record with what the log needs to certify it, if the log certifies.</summary>
    public abstract LogRecord CommitRecord(LogRecord commit, TransactionInfo transaction);

    /// <summary>The certified transaction committed on <paramref name="backend"/> (see <see cref="CommitCertifier.FinishedOn"/>).</summary>
    public void FinishedOn(TransactionId transactionId, string backend) => _certifier?.FinishedOn(transactionId, backend);

    /// <summary>The certified transaction finished everywhere, or will never commit (see <see cref="CommitCertifier.Finished"/>).</summary>
    public void Finished(TransactionId transactionId) => _certifier?.Finished(transactionId);

    /// <summary>The certified transaction committed but is left to recovery on <paramref name="backends"/> (see <see cref="CommitCertifier.InDoubt"/>).</summary>
    public void InDoubt(TransactionId transactionId, IEnumerable<string> backends) => _certifier?.InDoubt(transactionId, backends);

    /// <summary>Certifies with this process's certifier, when there is one and the transaction took its snapshot.</summary>
    private protected async ValueTask<CertificationVerdict> CertifyLocallyAsync(
        TransactionInfo transaction, IReadOnlyList<ParticipantVote> votes, IReadOnlyCollection<ItemId> writes, bool async, CancellationToken cancellationToken)
    {
        var staleReads = CertificationRequest.StaleReadsOf(votes);
        if (_certifier is null || transaction.Snapshot is not { } snapshot)
        {
            // No certifier can tell who changed a stale read: the participant's refusal stands.
            return staleReads.Count == 0
                ? CertificationVerdict.Unchecked
                : CertificationVerdict.Refused(new CertificationResult(false, $"it read {staleReads.First()}, which was changed since its snapshot, and no certifier checks this transaction", staleReads.First()));
        }

        var request = new CertificationRequest(transaction.Id, snapshot, transaction.Reads, writes)
        {
            SnapshotsTakenBy = transaction.SnapshotsTakenBy,
            VisibleUpTo = transaction.VisibleUpTo,
            BackendSnapshots = transaction.BackendSnapshots,
            LastWriterWins = CertificationRequest.LastWriterWinsOf(votes),
            StaleReads = staleReads,
        };

        // Waits while a deferrable transaction holds writers back; cancelled there, it is not certified.
        var verdict = await _certifier.CertifyAsync(request, transaction.Serializable, async, cancellationToken).ConfigureAwait(false);
        return verdict.Commit ? CertificationVerdict.Held : CertificationVerdict.Refused(verdict);
    }
}
