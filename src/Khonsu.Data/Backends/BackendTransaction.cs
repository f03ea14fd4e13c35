using System.Data.Common;
using Khonsu.Engine;
using Khonsu.Engine.Commit;

namespace Khonsu.Data.Backends;

/// <summary>
/// A backend's local transaction inside a Khonsu transaction: statements run in it for real, and
/// the coordinator prepares and finishes it.
/// </summary>
/// <remarks>
/// Its steps take <c>async</c>: false for a synchronous caller (<c>Commit</c>, <c>ExecuteNonQuery</c>),
/// served with the inner provider's synchronous methods (<see cref="InnerCommands"/> takes the
/// choice too), so the returned task has completed and no thread-pool thread is needed.
/// </remarks>
public abstract class BackendTransaction : ITransactionParticipant
{
    /// <summary>A local transaction of <paramref name="backend"/> on <paramref name="connection"/>, as part of the Khonsu transaction <paramref name="transactionId"/>.</summary>
    protected BackendTransaction(KhonsuBackend backend, DbConnection connection, TransactionId transactionId)
    {
        Backend = backend;
        Connection = connection;
        TransactionId = transactionId;
    }

    /// <summary>The backend this local transaction runs on.</summary>
    public KhonsuBackend Backend { get; }

    /// <summary>The inner connection the local transaction runs on.</summary>
    public DbConnection Connection { get; }

    /// <summary>The Khonsu transaction this local transaction belongs to.</summary>
    public TransactionId TransactionId { get; }

    /// <inheritdoc cref="ITransactionParticipant.Name"/>
    public string Name => Backend.Name;

    /// <summary>
    /// The Khonsu transaction as the participant needs to know it (its age, the moments it must
    /// report); set by Khonsu right after <see cref="KhonsuBackend.BeginTransactionAsync"/>, before
    /// the first statement. Null for a local transaction outside a Khonsu transaction.
    /// </summary>
    public ParticipantContext? Context { get; internal set; }

    /// <summary>
    /// Whether a statement that may write has run in it (not on a Replace branch): at prepare it
    /// has most likely written, so a participant may send PREPARE in the round trip that takes its
    /// writes, instead of waiting to learn whether it wrote.
    /// </summary>
    internal bool RanWrites { get; set; }

    /// <summary>
    /// Whether a statement that may write a table a mirror follows (<see cref="KhonsuBackendOptions.FollowedTables"/>)
    /// has run in it: such a transaction never commits in one phase, because a one-phase commit
    /// writes no log record and the change stream would never see it.
    /// </summary>
    internal bool WroteFollowedTable { get; set; }

    /// <summary>
    /// Whether this local transaction may hold locks that other transactions wait on where Khonsu
    /// cannot see the wait (PostgreSQL row locks): a transaction waiting elsewhere while it holds
    /// them bounds that wait (see <see cref="ParticipantContext.OthersMayHoldHiddenLocks"/>). Waits
    /// on locks Khonsu arbitrates itself (the process's SQLite write queues) are not hidden.
    /// </summary>
    public virtual bool MayHoldHiddenLocks => false;

    /// <summary>The inner provider's transaction object that inner commands must carry, if it has one.</summary>
    public abstract DbTransaction? InnerTransaction { get; }

    /// <summary>
    /// Runs before each statement of the transaction on this backend. When
    /// <paramref name="spansSeveralBackends"/>, the transaction may hold locks elsewhere, so lock
    /// waits here must be bounded by <see cref="KhonsuBackendOptions.LockTimeout"/>: a deadlock
    /// across databases is invisible to each of them.
    /// </summary>
    public virtual ValueTask BeforeStatementAsync(DbCommand command, bool spansSeveralBackends, bool async, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// A tracker for the rows of the reader's current result set, or null when the backend does
    /// not track rows there (a result without the table's key and version columns, say).
    /// </summary>
    public virtual IRowReadTracker? TrackReads(DbDataReader reader, string sql) => null;

    /// <summary>
    /// Which tables <paramref name="command"/> (its text, with its parameters) reads, as the
    /// database's own parser says, or null where the backend cannot tell (the statement's reads are
    /// then the tables the SQL text names, and the whole backend for any other name in it). Asked
    /// once per SQL text and catalog; it must not change the transaction's state.
    /// <paramref name="namesUnknownRelations"/>: the text names something that is not a known table
    /// (a view, a function); <paramref name="writes"/>: the statement writes.
    /// </summary>
    public virtual ValueTask<StatementReads?> ParseReadsAsync(DbCommand command, bool namesUnknownRelations, bool writes, CancellationToken cancellationToken)
        => ValueTask.FromResult<StatementReads?>(null);

    /// <summary>
    /// The database's error for a statement of this transaction as Khonsu reports it: a
    /// serialization failure of the whole transaction (SqlState 40001, transient) where the
    /// database says the transaction lost a conflict, else null (the error passes through as is).
    /// </summary>
    public virtual KhonsuException? AsSerializationFailure(DbException error) => null;

    /// <summary>
    /// Whether the statement's error is a write-write conflict on a row it writes (a concurrent
    /// transaction committed the row after this transaction's snapshot), which the table's conflict
    /// policy may resolve; the local transaction is then rolled back to the statement's savepoint.
    /// </summary>
    public virtual bool IsWriteConflict(DbException error) => false;

    /// <summary>
    /// Whether the statement's error is an insert that met a row with the same primary key, on a
    /// table whose key the database generates (<see cref="TableInfo.KeyIsGenerated"/>): what the
    /// Append policy resolves by running the insert again with <see cref="GenerateKeysAsync"/> on.
    /// </summary>
    public virtual bool IsDuplicateGeneratedKey(DbException error) => false;

    /// <summary>
    /// Turns on (or off again) new keys for the rows the transaction inserts whose key it cannot
    /// see (a concurrent transaction took it): the Append policy's second run of a conflicting
    /// insert. Only backends that report <see cref="IsDuplicateGeneratedKey"/> support it.
    /// </summary>
    public virtual ValueTask GenerateKeysAsync(bool on, CancellationToken cancellationToken)
        => throw new NotSupportedException($"Backend '{Backend.Name}' ({Backend.Kind}) cannot give an inserted row a new key.");

    /// <summary>
    /// A command on this participant's last-writer-wins branch, a second local transaction on the
    /// same backend whose writes land on the newest committed rows and commit or roll back with
    /// this one (the Replace policy); null where the backend has none (the conflict then fails).
    /// </summary>
    public virtual ValueTask<DbCommand?> CreateBranchCommandAsync(CancellationToken cancellationToken) => ValueTask.FromResult<DbCommand?>(null);

    /// <inheritdoc cref="ITransactionParticipant.CanCommitInOnePhase"/>
    public virtual bool CanCommitInOnePhase => true;

    /// <summary>What the coordinator asks: the backend's answer, unless a followed table was written (see <see cref="WroteFollowedTable"/>).</summary>
    bool ITransactionParticipant.CanCommitInOnePhase => CanCommitInOnePhase && !WroteFollowedTable;

    /// <summary>The rows the transaction read here, one by one, for the certifier (see <see cref="TrackReads"/>).</summary>
    public virtual IEnumerable<ItemId> RowReads => [];

    /// <inheritdoc cref="ITransactionParticipant.StaleReads"/>
    public virtual IReadOnlyCollection<ItemId> StaleReads => [];

    /// <summary>
    /// Makes the local transaction take its snapshot now rather than at its first read, for a
    /// deferrable read-only transaction whose snapshots on every backend must form one cut. Nothing
    /// to do where beginning the transaction already took it.
    /// </summary>
    public virtual ValueTask TakeSnapshotAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc cref="ITransactionParticipant.ValidateReadsAsync"/>
    public abstract ValueTask ValidateReadsAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken);

    /// <summary>Creates a savepoint in the local transaction (same SQL on SQLite and PostgreSQL).</summary>
    public virtual ValueTask SaveAsync(string savepoint, bool async, CancellationToken cancellationToken)
        => RunAsync("SAVEPOINT " + QuoteSavepoint(savepoint), async, cancellationToken);

    /// <summary>Undoes the local transaction's work since the savepoint, which stays.</summary>
    public virtual ValueTask RollbackToAsync(string savepoint, bool async, CancellationToken cancellationToken)
        => RunAsync("ROLLBACK TO SAVEPOINT " + QuoteSavepoint(savepoint), async, cancellationToken);

    /// <summary>Releases the savepoint in the local transaction, keeping the work done since it.</summary>
    public virtual ValueTask ReleaseAsync(string savepoint, bool async, CancellationToken cancellationToken)
        => RunAsync("RELEASE SAVEPOINT " + QuoteSavepoint(savepoint), async, cancellationToken);

    /// <inheritdoc cref="ITransactionParticipant.PrepareAsync"/>
    public abstract ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken);

    /// <inheritdoc cref="ITransactionParticipant.PrepareOnePhaseAsync"/>
    public virtual ValueTask<ParticipantVote> PrepareOnePhaseAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
        => PrepareAsync(transactionId, async, cancellationToken);

    /// <inheritdoc cref="ITransactionParticipant.CommitAsync"/>
    public abstract ValueTask CommitAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken);

    /// <inheritdoc cref="ITransactionParticipant.RollbackAsync"/>
    public abstract ValueTask RollbackAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken);

    /// <inheritdoc cref="ITransactionParticipant.AbandonAsync"/>
    public abstract ValueTask AbandonAsync(bool async, CancellationToken cancellationToken);

    private async ValueTask RunAsync(string sql, bool async, CancellationToken cancellationToken)
        => await InnerCommands.ExecuteAsync(Connection, InnerTransaction, sql, async, cancellationToken).ConfigureAwait(false);

    private static string QuoteSavepoint(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
