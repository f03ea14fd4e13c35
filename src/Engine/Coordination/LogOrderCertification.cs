using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.SharedLog;

namespace Khonsu.Engine.Coordination;

/// <summary>
/// Certification on a log that several processes share: every process certifies every commit
/// record in log order (<see cref="LogOrderCertifier"/>), so the commit point is the record and
/// its verdict. This process still certifies locally too, so conflicts between its own
/// transactions are found before the round trip to the log.
/// </summary>
internal sealed class LogOrderCertification(ISharedCommitLog log, CommitCertifier? certifier) : CertificationStrategy(certifier)
{
    /// <summary>Every writer that certifies needs its commit record, so no such one commits in one phase.</summary>
    public override bool AllowsOnePhase(TransactionInfo transaction) => !CertifiesInLog(transaction);

    /// <summary>
    /// Never: this process waited only for its own concurrent writers, and those of other processes
    /// can still make the snapshot unsafe or land between its backend snapshots.
    /// </summary>
    public override bool TrustsSafeSnapshots => false;

    /// <summary>Before the oldest commit without its end record, as far as this process has read the log.</summary>
    public override LogPosition? TakeLogSnapshot() => log.Certifier.TakeSnapshot();

    /// <summary>
    /// Before any record of the transaction is appended: its snapshot may have passed over a commit
    /// that is in doubt somewhere, and touching what that one wrote is refused. A read-only one is
    /// checked against what the log holds, and a serializable one that read something leaves its
    /// reads in the log (<see cref="CertifyReadOnlyInLogAsync"/>); a writer is certified in log order
    /// when its commit record is read back. Then this process's certifier has its say.
    /// </summary>
    public override async ValueTask<CertificationVerdict> CertifyAsync(
        TransactionInfo transaction, IReadOnlyList<ParticipantVote> votes, Func<TransactionInfo, LogRecord> newRecord, bool async, CancellationToken cancellationToken)
    {
        var writes = CertificationRequest.WritesOf(votes);
        if (CertifiesInLog(transaction))
        {
            var certification = CertificationOf(transaction);
            if (log.Certifier.TouchesOverdue(certification, writes) is { } overdue)
            {
                return CertificationVerdict.Refused(overdue);
            }

            if (writes.Count == 0)
            {
                var readOnly = log.Certifier.CheckReadOnly(transaction.Id, certification);
                if (!readOnly.Commit)
                {
                    return CertificationVerdict.Refused(readOnly);
                }

                if (transaction.Serializable && transaction.Reads.Count > 0
                    && await CertifyReadOnlyInLogAsync(newRecord(transaction) with { Certification = certification }, async, cancellationToken).ConfigureAwait(false) is { } refused)
                {
                    return CertificationVerdict.Refused(refused);
                }
            }
        }

        return await CertifyLocallyAsync(transaction, votes, writes, async, cancellationToken).ConfigureAwait(false);
    }

    public override LogRecord CommitRecord(LogRecord commit, TransactionInfo transaction)
        => CertifiesInLog(transaction) ? commit with { Certification = CertificationOf(transaction) } : commit;

    /// <summary>
    /// Other processes certify their commit records from the log alone: a read-only transaction
    /// that leaves no record can be Tin of a pivot that commits later in another process (the
    /// read-only anomaly), and that process would never know. So a serializable read-only
    /// transaction appends a commit record with no participants and its reads: certified in log
    /// order like any other, remembered by every process, never prepared or ended. Its verdict comes
    /// back with the append. Failing or cancelled, whatever became of the record, it is an abort:
    /// nothing was written anywhere.
    /// </summary>
    private async ValueTask<CertificationResult?> CertifyReadOnlyInLogAsync(LogRecord record, bool async, CancellationToken cancellationToken)
    {
        var appended = await log.AppendAsync(record, async, cancellationToken).ConfigureAwait(false);
        return appended.Refusal is { } refusal ? new CertificationResult(false, refusal.Reason, refusal.Item, refusal.ConflictsWith) : null;
    }

    /// <summary>A transaction that took its snapshot from the log certifies there; one that never certifies does not.</summary>
    private static bool CertifiesInLog(TransactionInfo transaction) => transaction.LogSnapshot is not null;

    private static LogCertification CertificationOf(TransactionInfo transaction)
        => new(transaction.LogSnapshot!.Value, transaction.Serializable, transaction.SnapshotsTakenBy is not null, [.. transaction.Reads]);
}
