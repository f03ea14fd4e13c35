namespace Khonsu.Engine.Commit;

/// <summary>
/// One backend's local transaction inside a Khonsu transaction, as the coordinator drives it.
/// </summary>
/// <remarks>
/// Every step takes <c>async</c> (Npgsql's <c>bool async</c> pattern): false for a synchronous
/// caller (<c>KhonsuTransaction.Commit</c>), which the participant serves with the inner provider's
/// synchronous methods, so the task it returns has already completed and no thread-pool thread is
/// needed to finish it.
/// </remarks>
internal interface ITransactionParticipant
{
    /// <summary>The backend's name in the connection string.</summary>
    string Name { get; }

    /// <summary>
    /// Checks the versions the transaction read and wrote and makes the local transaction
    /// durable-but-undecided where the database can (PostgreSQL: PREPARE TRANSACTION). Throws
    /// <see cref="SerializationConflictException"/> when a version changed underneath; any
    /// exception is a no vote.
    /// </summary>
    ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken);

    /// <summary>
    /// For a transaction with this one participant: checks the versions and reports the writes as
    /// <see cref="PrepareAsync"/> does, but makes nothing durable. The participant's own local
    /// commit (<see cref="CommitAsync"/>) is then the commit point, with no log record: one
    /// database commits atomically by itself. The default prepares fully.
    /// </summary>
    ValueTask<ParticipantVote> PrepareOnePhaseAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
        => PrepareAsync(transactionId, async, cancellationToken);

    /// <summary>
    /// Whether the participant alone commits atomically with one local COMMIT (see
    /// <see cref="PrepareOnePhaseAsync"/>). False when it holds more than one local transaction
    /// (a PostgreSQL participant with a Replace branch): then even alone it commits in two phases,
    /// with a log record recovery can finish from.
    /// </summary>
    bool CanCommitInOnePhase => true;

    /// <summary>
    /// Called after every participant prepared, on participants that wrote nothing, when the
    /// transaction wrote elsewhere or read on several backends: confirms that nothing this participant read has changed since
    /// the transaction's snapshot, and keeps it so until the participant finishes. Throws
    /// <see cref="SerializationConflictException"/> otherwise.
    /// </summary>
    ValueTask ValidateReadsAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken);

    /// <summary>
    /// After <see cref="PrepareAsync"/> or <see cref="ValidateReadsAsync"/>: the rows read that were
    /// changed since the snapshot, or held by a writer that has not finished, which the participant
    /// reports instead of refusing. One such row is an rw-antidependency, not an anomaly by itself:
    /// the certifier lets the transaction commit when it knows the transaction that wrote the row
    /// (a Khonsu transaction committed after the snapshot) and no dangerous structure forms, and
    /// refuses it otherwise (a writer outside Khonsu, whose reads it cannot know). Empty by default:
    /// a participant that refuses every changed read itself reports none.
    /// </summary>
    IReadOnlyCollection<ItemId> StaleReads => [];

    /// <summary>Commits a prepared participant, writing its applied-marker in the same local transaction (none after a one-phase prepare).</summary>
    ValueTask CommitAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken);

    /// <summary>Rolls back, whether or not the participant prepared. Must not throw when there is nothing to undo.</summary>
    ValueTask RollbackAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken);

    /// <summary>
    /// Lets go of the local transaction without deciding it, after a prepare whose outcome the
    /// log could not confirm. A prepared PostgreSQL transaction stays prepared; SQLite's local
    /// transaction is dropped, and redone from the log if the decision turns out to be commit.
    /// </summary>
    ValueTask AbandonAsync(bool async, CancellationToken cancellationToken);
}
