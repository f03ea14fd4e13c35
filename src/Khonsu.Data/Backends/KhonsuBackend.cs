using System.Data;
using System.Data.Common;
using Khonsu.Engine;
using Khonsu.Engine.Log;
using Khonsu.Engine.Recovery;

namespace Khonsu.Data.Backends;

/// <summary>
/// One named database in a Khonsu connection string, shared by every connection that uses that
/// connection string: how to connect to it, install Khonsu's schema, read its catalog, run a
/// local transaction as a participant, and recover.
/// </summary>
public abstract class KhonsuBackend : IAsyncDisposable
{
    /// <summary>A backend named <paramref name="name"/> in the connection string, with the options its keys set.</summary>
    protected KhonsuBackend(string name, KhonsuBackendOptions options)
    {
        Name = name;
        Options = options;
    }

    /// <summary>The backend's name in the connection string (e.g. "ledger").</summary>
    public string Name { get; }

    /// <summary>The backend's kind (e.g. "Sqlite").</summary>
    public abstract string Kind { get; }

    /// <summary>The backend's options, as the connection string set them.</summary>
    public KhonsuBackendOptions Options { get; }

    /// <summary>The database file, for backends that are files (the default log goes next to it).</summary>
    public virtual string? DatabaseFilePath => null;

    /// <summary>Creates an inner connection, not yet open.</summary>
    public abstract DbConnection CreateConnection();

    /// <summary>Opens an inner connection and prepares its session for Khonsu (e.g. capture triggers).</summary>
    /// <param name="connection">The connection <see cref="CreateConnection"/> created.</param>
    /// <param name="async">
    /// False for a synchronous caller (<c>KhonsuCommand.ExecuteNonQuery</c> and the like): the
    /// connection opens with the provider's synchronous methods, and the returned task has completed,
    /// so the caller blocks no thread-pool thread waiting for it (the pattern of Npgsql's internal
    /// <c>Open(bool async)</c>).
    /// </param>
    /// <param name="cancellationToken">Honoured while opening.</param>
    public abstract ValueTask OpenConnectionAsync(DbConnection connection, bool async, CancellationToken cancellationToken);

    /// <summary>
    /// Installs Khonsu's schema: its own tables, a version column where a table lacks one, and the
    /// triggers that bump it. Idempotent. Runs inside <paramref name="transaction"/> when given.
    /// </summary>
    public abstract ValueTask InstallSchemaAsync(DbConnection connection, BackendTransaction? transaction, CancellationToken cancellationToken);

    /// <summary>Reads the tables this backend owns.</summary>
    public abstract ValueTask<BackendCatalog> LoadCatalogAsync(DbConnection connection, BackendTransaction? transaction, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <see cref="BeginTransactionAsync"/> takes the local transaction's snapshot (true), or
    /// the participant takes it later and says so through <see cref="ParticipantContext.SnapshotStarting"/>
    /// (false: SQLite, whose deferred transaction takes it at the first read or write lock).
    /// </summary>
    public virtual bool BeginTakesSnapshot => true;

    /// <summary>Begins a local transaction on an open inner connection, as a participant of a Khonsu transaction.</summary>
    public abstract ValueTask<BackendTransaction> BeginTransactionAsync(
        DbConnection connection, TransactionId transactionId, IsolationLevel isolationLevel, CancellationToken cancellationToken);

    /// <summary>
    /// Whether a statement's write-write conflict here is reported on the statement, row by row, so
    /// that a conflict policy can resolve it there (see <see cref="BackendTransaction.IsWriteConflict"/>):
    /// PostgreSQL yes; SQLite no, its stale snapshot is of the whole database.
    /// </summary>
    public virtual bool ResolvesWriteConflicts => false;

    /// <summary>
    /// Where this backend holds transaction_log materialised from a Kafka log (key <c>TransactionLog</c>),
    /// or null when it cannot hold one.
    /// </summary>
    public virtual TransactionLogTables? TransactionLogTables => null;

    /// <summary>
    /// Its applied-marker table, for truncation to delete the markers recovery can no longer need;
    /// null for a backend that keeps none.
    /// </summary>
    public virtual AppliedMarkers? AppliedMarkers => null;

    /// <summary>
    /// Where this backend records the commit log that governs it (see <see cref="Backends.LogOwnerTable"/>),
    /// or null for a backend that cannot: such a backend is not fenced.
    /// </summary>
    public virtual LogOwnerTable? LogOwnerTable => null;

    /// <summary>
    /// The commit log that governs this backend, set once the runtime (or a tool) has opened it and
    /// before any transaction or recovery runs: a backend that marks its prepared transactions
    /// (PostgreSQL's gid) marks them with this log's <see cref="LogIdentity.Tag"/>, and its recovery
    /// resource lists only this log's. Null until then: marks name no log.
    /// </summary>
    public LogIdentity? GoverningLog { get; internal set; }

    /// <summary>How recovery reaches this backend (it opens its own connections).</summary>
    public abstract IRecoverableResource CreateRecoveryResource();

    /// <summary>
    /// Releases what the backend owns (a connection pool, its idle connections) when its runtime
    /// closes; connections still open may fail afterwards. Called once, after the runtime stopped
    /// using the backend.
    /// </summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Whether an error in a statement leaves the whole local transaction unusable (PostgreSQL's
    /// "current transaction is aborted"), so that work Khonsu sends on its own (a prefetch) must
    /// run inside a savepoint of its own.
    /// </summary>
    internal virtual bool StatementErrorAbortsTransaction => false;
}
