using Khonsu.Engine.Commit;

namespace Khonsu.Engine.Log;

/// <summary>
/// One record of the commit log. A commit record carries every participant's vote (with the
/// row images SQLite needs for redo), so the log alone is enough to finish the transaction.
/// </summary>
internal sealed record LogRecord
{
    public required LogRecordKind Kind { get; init; }

    public required TransactionId TransactionId { get; init; }

    /// <summary>The process that wrote the record (see <see cref="NodeId"/>).</summary>
    public required string NodeId { get; init; }

    /// <summary>When the record was written.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>When the transaction began, for transaction_log.started_at.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>Participants' votes (commit), or the participants involved (abort, end).</summary>
    public IReadOnlyList<ParticipantVote> Participants { get; init; } = [];

    /// <summary>What the transaction did, as statement summaries without parameter values.</summary>
    public string? Operation { get; init; }

    /// <summary>Why the transaction aborted (abort records only).</summary>
    public string? Reason { get; init; }

    /// <summary>
    /// On a commit record written to a log that several processes share: what the log's certifier
    /// needs to decide it (null elsewhere, and on records it only remembers as writers).
    /// </summary>
    public LogCertification? Certification { get; init; }

    /// <summary>
    /// On an abort record: every participant had rolled back before it was written, so nothing is
    /// left for recovery to do and no end record needs to follow. A log that keeps a list of
    /// unfinished decisions (the embedded log's khonsu_log_unfinished) leaves such an abort out of
    /// it, so that tools and recovery do not take it for work in doubt. Not part of the binary form
    /// (<see cref="LogRecordCodec"/>: older builds keep reading every record): a record read back
    /// has it false, and a log without such a list (Kafka) keeps listing the abort until recovery
    /// appends its end record, as it always did.
    /// </summary>
    public bool EndsTransaction { get; init; }

    /// <summary>
    /// A read-only transaction's record on a shared log: its reads for the certifiers of every
    /// process, no participants, nothing to finish (no end record follows).
    /// </summary>
    public bool IsReadOnlyCertification => Certification is not null && Participants.Count == 0;
}
