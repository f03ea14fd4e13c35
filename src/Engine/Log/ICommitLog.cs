namespace Khonsu.Engine.Log;

/// <summary>
/// The durable, totally ordered log of commit decisions. Implementations: the embedded log
/// (<see cref="EmbeddedCommitLog"/>, a local SQLite file with group commit) and the Kafka log
/// (Khonsu.Log.Kafka, shared by several processes: <c>SharedLog.ISharedCommitLog</c>).
/// </summary>
internal interface ICommitLog : IAsyncDisposable
{
    /// <summary>
    /// Which log this is (see <see cref="LogIdentity"/>): what every database it governs records,
    /// and what marks its prepared transactions there.
    /// </summary>
    LogIdentity Identity { get; }

    /// <summary>
    /// Appends a record and returns once it is durable. Concurrent appends share syncs.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="async">
    /// False for a synchronous caller (a synchronous commit): the log then makes the record durable
    /// without needing a thread-pool thread (blocking waits, synchronous I/O on the caller's thread),
    /// and the returned task has completed. <see cref="CommitLogExtensions.AppendAsync"/> is the asynchronous call.
    /// </param>
    /// <param name="cancellationToken">Ends the wait.</param>
    ValueTask<AppendResult> AppendAsync(LogRecord record, bool async, CancellationToken cancellationToken);

    /// <summary>The first decision (commit or abort) logged for a transaction, or null if none: presumed abort.</summary>
    ValueTask<LoggedRecord?> GetDecisionAsync(TransactionId transactionId, CancellationToken cancellationToken = default);

    /// <summary>Decision records that have no end record yet: what recovery must finish.</summary>
    IAsyncEnumerable<LoggedRecord> ReadUnfinishedAsync(CancellationToken cancellationToken = default);

    /// <summary>Every record from a position on, in log order.</summary>
    IAsyncEnumerable<LoggedRecord> ReadFromAsync(LogPosition from, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records that a participant's status changed outside the commit path (recovery found it
    /// in doubt, or could not reach it), so transaction_log shows it. Not part of the protocol.
    /// </summary>
    /// <param name="async">As for <see cref="AppendAsync"/>.</param>
    ValueTask NoteParticipantStatusAsync(
        TransactionId transactionId, string participant, ParticipantStatus status, string? reason, bool async, CancellationToken cancellationToken);
}
