namespace Khonsu.Log.Kafka;

/// <summary>
/// How long a Kafka log's index remembers the outcome of a transaction that ended, and the age
/// past which a commit record is refused so that forgetting is safe. Part of the verdict function
/// (like <see cref="Engine.SharedLog.LogOrderCertifier.Capacity"/>): every process sharing a log
/// must use the same limits, so they are not a setting; tests and the soak benchmark shorten them.
/// </summary>
/// <remarks>
/// Why forgetting needs a refusal: the first decision in log order wins. If the index forgot that
/// recovery aborted T (its coordinator stalled past PrepareLease, recovery appended an abort record
/// and rolled T's PostgreSQL participants back), a commit record the stalled coordinator appends
/// later would become T's first decision, and its SQLite participant would commit what PostgreSQL
/// rolled back. So every process refuses, deterministically from the log, a commit record whose
/// transaction began (the time in its UUIDv7 id) more than <see cref="MaxTransactionAge"/> before
/// the log's clock (the newest record timestamp applied so far); and forgets a transaction
/// <see cref="Horizon"/> of log clock after it ended. With process clocks within
/// <see cref="ClockSkew"/> of each other, a forgotten transaction's id is always older than that:
/// its id was taken before its decision record was written, whose timestamp the log's clock had
/// passed when it ended. Forgetting the outcome of a commit never turns it into an abort for a
/// participant still prepared: a transaction is forgotten only after its end record, which comes
/// after every participant finished.
/// </remarks>
/// <para>
/// Only an abort can be revived that way: no one appends a second commit record for a committed
/// transaction. So the outcome of a committed transaction that ended is forgotten after
/// <see cref="CommitGrace"/> only (long enough for a recovery pass that listed it prepared just
/// before it finished to read it), and only aborts (refusals included) are kept for the horizon: the
/// index, and with it every checkpoint, holds the aborts of the last <see cref="Horizon"/> and the
/// commits of the last minute, however long the log.
/// </para>
internal sealed record OutcomeLimits(TimeSpan MaxTransactionAge, TimeSpan ClockSkew, TimeSpan CommitGrace, int RecordsInMemory)
{
    /// <summary>
    /// One hour for a transaction from its begin to its commit record; clocks within five minutes;
    /// committed outcomes kept a minute; 20,000 records kept in memory for readers of the log.
    /// </summary>
    public static OutcomeLimits Default { get; } = new(TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1), 20_000);

    /// <summary>How long (in log clock) an ended abort is remembered: the age limit plus twice the skew.</summary>
    public TimeSpan Horizon => MaxTransactionAge + ClockSkew + ClockSkew;
}
