using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Khonsu.Data.Backends;
using Khonsu.Data.Runtime;
using Khonsu.Data.Transactions;

namespace Khonsu.Data;

/// <summary>
/// A connection to every database a Khonsu connection string names. Inner connections open
/// lazily, when a statement first needs a backend; transactions span every backend they touch.
/// </summary>
public sealed class KhonsuConnection : DbConnection
{
    private readonly Dictionary<KhonsuBackend, DbConnection> _inner = [];
    private readonly List<KhonsuDataReader> _openReaders = [];
    private string _connectionString = string.Empty;
    private ConnectionState _state = ConnectionState.Closed;
    private KhonsuRuntime? _runtime;

    // The data source that created this connection, if one did (null for a bare connection string).
    private KhonsuDataSource? _dataSource;

    // The data source this open holds the runtime through (its own, or the one every bare
    // connection of its string shares): its logger and conflict handler serve this connection,
    // and it is told when the connection closes.
    private KhonsuDataSource? _heldThrough;
    private bool _disposed;

    // Whether Open enlists in the ambient TransactionScope (key Enlist): false only for the carrier
    // connection an AmbientEnlistment runs its transaction on.
    private readonly bool _enlistsInAmbientTransaction = true;

    // The ambient transaction this connection is enlisted in: its statements run on its carrier.
    private Transactions.AmbientEnlistment? _enlistment;

    /// <summary>A connection with no connection string yet; set <see cref="ConnectionString"/> before opening it.</summary>
    public KhonsuConnection()
    {
    }

    /// <summary>A connection to the databases <paramref name="connectionString"/> names; the string is checked now (a bad key or value throws), the databases are reached on open.</summary>
    public KhonsuConnection(string connectionString)
    {
        Configuration.ConnectionStringCheck.ThrowIfInvalid(connectionString, nameof(connectionString));
        _connectionString = connectionString;
    }

    /// <summary>A connection of <paramref name="dataSource"/>: it runs on that data source's runtime, with its logger and conflict handler.</summary>
    /// <param name="enlistsInAmbientTransaction">False for the connection an ambient transaction's Khonsu transaction runs on.</param>
    internal KhonsuConnection(KhonsuDataSource dataSource, bool enlistsInAmbientTransaction = true)
    {
        _dataSource = dataSource;
        _connectionString = dataSource.ConnectionString;
        _enlistsInAmbientTransaction = enlistsInAmbientTransaction;
    }

    /// <summary>The Khonsu connection string: the backends and Khonsu's settings. Checked when set (a bad key or value throws); it cannot change while the connection is open.</summary>
    [AllowNull]
    public override string ConnectionString
    {
        get => _connectionString;
        set
        {
            if (_state != ConnectionState.Closed)
            {
                throw new InvalidOperationException("The connection string cannot be changed while the connection is open.");
            }

            if (!string.Equals(_connectionString, value, StringComparison.Ordinal))
            {
                // As Npgsql does, a bad string is refused when set, with the key it names.
                Configuration.ConnectionStringCheck.ThrowIfInvalid(value, nameof(value));

                // Another connection string is not its data source's: from now on it is a bare one.
                _dataSource = null;
            }

            _connectionString = value ?? string.Empty;
        }
    }

    /// <summary>
    /// Open on one backend: its database, as its provider names it. Otherwise (closed, or several
    /// backends) the first backend's name.
    /// </summary>
    public override string Database => SingleBackendConnection()?.Database ?? _runtime?.Backends[0].Name ?? string.Empty;

    /// <summary>Open on one backend: its provider's data source (a file, a server). Otherwise "Khonsu".</summary>
    public override string DataSource => SingleBackendConnection()?.DataSource ?? "Khonsu";

    /// <summary>
    /// Open on one backend: its server's version, as its provider reports it (code that reads the
    /// PostgreSQL version keeps working). Otherwise "Khonsu" and Khonsu's version.
    /// </summary>
    public override string ServerVersion => SingleBackendConnection()?.ServerVersion ?? "Khonsu " + typeof(KhonsuConnection).Assembly.GetName().Version;

    /// <summary>The inner connection of an open connection string that names one backend (opened now if it was not).</summary>
    private DbConnection? SingleBackendConnection() =>
        _state == ConnectionState.Open && _runtime is { Backends.Count: 1 } runtime
            ? GetInnerConnectionAsync(runtime.Backends[0], async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult()
            : null;

    /// <inheritdoc/>
    public override ConnectionState State => _state;

    /// <summary>The transaction in progress on this connection, if any.</summary>
    internal KhonsuTransaction? CurrentTransaction { get; set; }

    // The age of the last transaction, if it ended without committing after a transient failure,
    // and when: the next transaction begun soon after is its retry (an execution strategy, a
    // Polly policy, a loop in the application) and keeps that age, so it cannot starve.
    private (long Age, long EndedAt)? _retryOf;

    /// <summary>How soon after a transaction that failed transiently the next one counts as its retry.</summary>
    private static readonly TimeSpan RetryWindow = TimeSpan.FromSeconds(5);

    /// <summary>A transaction of this connection ended; <paramref name="retried"/>: it failed transiently and did not commit.</summary>
    internal void TransactionEnded(long age, bool retried)
        => _retryOf = retried ? (age, System.Diagnostics.Stopwatch.GetTimestamp()) : null;

    /// <summary>The age the next transaction keeps, when it comes soon after one that failed transiently.</summary>
    private long? TakeRetryAge()
    {
        var retryOf = _retryOf;
        _retryOf = null;
        return retryOf is { } last && System.Diagnostics.Stopwatch.GetElapsedTime(last.EndedAt) < RetryWindow ? last.Age : null;
    }

    internal KhonsuRuntime Runtime => _runtime ?? throw new InvalidOperationException("The connection is not open.");

    /// <summary>Where this connection's transactions are logged: its data source's logger.</summary>
    internal Diagnostics.KhonsuLog Logger => _heldThrough?.Logger ?? Diagnostics.KhonsuLog.None;

    /// <summary>The write-conflict handler of this connection's data source, if it has one.</summary>
    internal Func<KhonsuWriteConflict, KhonsuConflictPolicy>? ConflictHandler => _heldThrough?.ConflictHandler;

    /// <inheritdoc/>
    protected override DbProviderFactory DbProviderFactory => KhonsuProviderFactory.Instance;

    /// <summary>Opens the connection: starts (or joins) the runtime of its connection string and, unless the connection string says Enlist=false, enlists in the ambient TransactionScope, if any. Inner connections open later, when a statement first needs their backend.</summary>
    public override void Open() => OpenAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Open"/>
    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_state == ConnectionState.Open)
        {
            throw new InvalidOperationException("The connection is already open.");
        }

        if (string.IsNullOrWhiteSpace(_connectionString))
        {
            throw new InvalidOperationException("The ConnectionString property has not been initialized.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var previous = _state;
        _state = ConnectionState.Connecting;
        try
        {
            (_heldThrough, _runtime) = await HoldRuntimeAsync(cancellationToken).ConfigureAwait(false);
            _state = ConnectionState.Open;
        }
        catch
        {
            _state = previous;
            throw;
        }

        // As Npgsql does (Enlist=true by default): a connection opened inside a TransactionScope joins it.
        if (_enlistsInAmbientTransaction && _runtime.Settings.Enlist && System.Transactions.Transaction.Current is { } ambient)
        {
            try
            {
                await EnlistAsync(ambient, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await CloseAsync().ConfigureAwait(false);
                throw;
            }
        }

        OnStateChange(new StateChangeEventArgs(ConnectionState.Closed, ConnectionState.Open));
    }

    /// <summary>
    /// Enlists in <paramref name="transaction"/> (a <c>TransactionScope</c>'s), as
    /// <see cref="Open"/> does with the ambient one unless the connection string says
    /// <c>Enlist=false</c>: the connection's statements then run in the Khonsu transaction the
    /// scope holds, shared by every Khonsu connection of the same data source enlisted in it, and
    /// the scope's completion commits it atomically across every backend (disposing the scope
    /// without completing it rolls it back). A null transaction does nothing.
    /// </summary>
    public override void EnlistTransaction(System.Transactions.Transaction? transaction)
    {
        if (transaction is not null)
        {
            EnlistAsync(transaction, CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    private async Task EnlistAsync(System.Transactions.Transaction ambient, CancellationToken cancellationToken)
    {
        if (_state != ConnectionState.Open)
        {
            throw new InvalidOperationException("EnlistTransaction requires an open connection.");
        }

        if (_enlistment is { HasEnded: false } enlisted)
        {
            if (enlisted.Ambient.Equals(ambient))
            {
                return;
            }

            throw new InvalidOperationException("The connection is already enlisted in another transaction (TransactionScope); it can take part in one at a time.");
        }

        if (CurrentTransaction is not null)
        {
            throw new InvalidOperationException("The connection has a transaction of its own in progress (BeginTransaction): end it before enlisting in a TransactionScope.");
        }

        _enlistment = await Transactions.AmbientEnlistment.JoinAsync(ambient, _heldThrough!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The connection a statement of this one runs on: itself, or while it is enlisted in a
    /// TransactionScope, the connection that scope's Khonsu transaction runs on.
    /// </summary>
    internal KhonsuConnection ExecutionConnection
    {
        get
        {
            if (_enlistment is not { } enlistment)
            {
                return this;
            }

            if (!enlistment.HasEnded)
            {
                return enlistment.Carrier;
            }

            if (System.Transactions.Transaction.Current is { } ambient && ambient.Equals(enlistment.Ambient))
            {
                throw new InvalidOperationException(
                    $"The TransactionScope this connection is enlisted in has ended ({enlistment.Outcome.ToString().ToLowerInvariant()}, e.g. by its timeout); its statements can no longer run. Dispose the scope.");
            }

            // The scope is over: the connection runs its statements on its own again, as a Npgsql connection does.
            _enlistment = null;
            return this;
        }
    }

    /// <summary>Closes the connection: open readers are closed, a transaction in progress rolls back, and the inner connections go back to their providers' pools (a TransactionScope the connection enlisted in keeps its transaction until the scope ends).</summary>
    public override void Close() => Close(async: false).GetAwaiter().GetResult();

    /// <inheritdoc cref="Close()"/>
    public override Task CloseAsync() => Close(async: true);

    /// <summary>
    /// The one code path of <see cref="Close()"/> and <see cref="CloseAsync"/> (see
    /// <see cref="Execution.SyncOrAsync"/>): the inner connections go back to their providers'
    /// pools synchronously for a synchronous caller. A reader still open or a transaction still in
    /// progress is rolled back on the asynchronous path (the commit protocol has no synchronous one yet).
    /// </summary>
    private async Task Close(bool async)
    {
        if (_state == ConnectionState.Closed)
        {
            return;
        }

        try
        {
            // Readers first: no inner connection can roll back while a reader still holds it.
            foreach (var reader in _openReaders.ToArray())
            {
                await reader.AbandonAsync().ConfigureAwait(false);
            }

            if (CurrentTransaction is { } transaction)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var inner in _inner.Values)
            {
                await Execution.SyncOrAsync.DisposeAsync(inner, async).ConfigureAwait(false);
            }
        }
        finally
        {
            _inner.Clear();
            _state = ConnectionState.Closed;
            // Its scope's transaction lives on, on its carrier, until the scope ends.
            _enlistment = null;
            if (_heldThrough is { } dataSource)
            {
                // Last, and even when a rollback above failed: the rollback still needed the runtime,
                // and a hold never let go would keep a disposed data source's runtime (and its log's lock) for ever.
                _heldThrough = null;
                await dataSource.ConnectionClosedAsync().ConfigureAwait(false);
            }
        }

        OnStateChange(new StateChangeEventArgs(ConnectionState.Open, ConnectionState.Closed));
    }

    /// <summary>
    /// The runtime this open runs on and the data source it is held through: the connection's own
    /// data source, or for a bare connection string the data source all its connections share.
    /// </summary>
    private async Task<(KhonsuDataSource DataSource, KhonsuRuntime Runtime)> HoldRuntimeAsync(CancellationToken cancellationToken)
    {
        if (_dataSource is { } own)
        {
            var runtime = await own.ConnectionOpeningAsync(cancellationToken).ConfigureAwait(false);
            ObjectDisposedException.ThrowIf(runtime is null, own);
            return (own, runtime);
        }

        while (true)
        {
            var shared = ConnectionStringDataSources.For(_connectionString);
            if (await shared.ConnectionOpeningAsync(cancellationToken).ConfigureAwait(false) is { } runtime)
            {
                return (shared, runtime);
            }

            // ClearPoolAsync disposed it between the look-up and the open; the next look-up builds a new one.
        }
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _disposed = true;
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Close();
            _disposed = true;
        }

        base.Dispose(disposing);
    }

    internal void ReaderOpened(KhonsuDataReader reader) => _openReaders.Add(reader);

    internal void ReaderClosed(KhonsuDataReader reader) => _openReaders.Remove(reader);

    /// <summary>Not supported: a Khonsu connection spans the databases its connection string names, so it always throws <see cref="NotSupportedException"/>.</summary>
    public override void ChangeDatabase(string databaseName)
        => throw new NotSupportedException("A Khonsu connection spans several databases; name them in the connection string instead of changing database.");

    /// <summary>Begins a Serializable transaction across every backend it touches.</summary>
    public new KhonsuTransaction BeginTransaction() => BeginTransaction(IsolationLevel.Unspecified);

    /// <summary>Begins a transaction across every backend it touches: Serializable for Unspecified or Serializable, Snapshot for Snapshot and the weaker levels (stronger than asked, as PostgreSQL runs READ UNCOMMITTED as READ COMMITTED); Chaos throws a <see cref="KhonsuException"/>.</summary>
    public new KhonsuTransaction BeginTransaction(IsolationLevel isolationLevel) => (KhonsuTransaction)BeginDbTransaction(isolationLevel);

    /// <inheritdoc cref="BeginTransaction()"/>
    public new async ValueTask<KhonsuTransaction> BeginTransactionAsync(CancellationToken cancellationToken = default)
        => (KhonsuTransaction)await BeginDbTransactionAsync(IsolationLevel.Unspecified, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="BeginTransaction(IsolationLevel)"/>
    public new async ValueTask<KhonsuTransaction> BeginTransactionAsync(IsolationLevel isolationLevel, CancellationToken cancellationToken = default)
        => (KhonsuTransaction)await BeginDbTransactionAsync(isolationLevel, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Begins a Serializable transaction that only reads (PostgreSQL's <c>BEGIN READ ONLY</c>): a
    /// statement that writes fails with SqlState 25006 before it reaches a backend. Like any
    /// read-only transaction it writes nothing to the log.
    /// </summary>
    public KhonsuTransaction BeginReadOnlyTransaction() => StartTransaction(IsolationLevel.Serializable, readOnly: true);

    /// <inheritdoc cref="BeginReadOnlyTransaction"/>
    public ValueTask<KhonsuTransaction> BeginReadOnlyTransactionAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(BeginReadOnlyTransaction());
    }

    /// <summary>
    /// With <paramref name="deferrable"/>, begins a read-only transaction as PostgreSQL's
    /// <c>BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE</c> does: it waits (asynchronously)
    /// until it can take a safe snapshot, on every backend of the connection string at once, and then
    /// never fails with a serialization failure nor needs certification. The wait lasts until every
    /// read-write transaction of this process that began before it has ended, longer if one of them
    /// committed in a way that makes the snapshot unsafe; it is bounded by <c>SafeSnapshotTimeout</c>
    /// (a <see cref="KhonsuException"/> with SqlState 57014). With a Kafka log, other processes'
    /// transactions are not waited for, so it is certified at commit like any read-only transaction.
    /// Without <paramref name="deferrable"/>, as <see cref="BeginReadOnlyTransactionAsync(CancellationToken)"/>.
    /// </summary>
    public async ValueTask<KhonsuTransaction> BeginReadOnlyTransactionAsync(bool deferrable, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!deferrable)
        {
            return BeginReadOnlyTransaction();
        }

        var transaction = StartTransaction(IsolationLevel.Serializable, readOnly: true, deferrable: true);
        try
        {
            await new SafeSnapshotProtocol(transaction).TakeAsync(Runtime.Settings.SafeSnapshotTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return transaction;
    }

    /// <inheritdoc/>
    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => StartTransaction(isolationLevel);

    /// <inheritdoc/>
    protected override ValueTask<DbTransaction> BeginDbTransactionAsync(IsolationLevel isolationLevel, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<DbTransaction>(StartTransaction(isolationLevel));
    }

    /// <summary>Creates a command on this connection.</summary>
    public new KhonsuCommand CreateCommand() => new() { Connection = this };

    /// <inheritdoc/>
    protected override DbCommand CreateDbCommand() => CreateCommand();

    /// <inheritdoc/>
    public override bool CanCreateBatch => true;

    /// <summary>Creates a batch on this connection.</summary>
    public new KhonsuBatch CreateBatch() => new(this);

    /// <inheritdoc/>
    protected override DbBatch CreateDbBatch() => CreateBatch();

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction and commits it, retrying the whole transaction
    /// after a transient failure (a serialization conflict, a bounded lock wait) with exponential
    /// backoff and full jitter. A commit whose outcome is unknown is not transient and is never
    /// retried: retrying it blindly could apply it twice.
    /// </summary>
    /// <remarks>
    /// Every attempt keeps the age of the first: the longer a transaction has been retried, the
    /// older it is, and the oldest transaction of the process wins the waits Khonsu arbitrates, so
    /// it cannot starve however contended its rows are. A failure while an older transaction of the
    /// process is live does not count against <see cref="KhonsuRetryOptions.MaxAttempts"/>: the
    /// transaction waits its turn, with backoff. Failures while it is the oldest do count, since
    /// it has right of way (it then tries again at once): failing that often means the work cannot
    /// commit, whoever runs beside it.
    /// </remarks>
    public async Task<T> RunInTransactionAsync<T>(Func<KhonsuTransaction, CancellationToken, Task<T>> work, KhonsuRetryOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= KhonsuRetryOptions.Default;

        // Held between attempts too: during a backoff no younger transaction counts as older.
        using var age = Runtime.Ages.Hold(TransactionAges.Next());
        var (failures, counted) = (0, 0);
        while (true)
        {
            var transaction = options.ReadOnly
                ? StartTransaction(options.IsolationLevel == IsolationLevel.Unspecified ? IsolationLevel.Serializable : options.IsolationLevel, readOnly: true, age: age.Age)
                : StartTransaction(options.IsolationLevel, age: age.Age);
            var oldest = false;
            try
            {
                var result = await work(transaction, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (DbException error) when (error.IsTransient && ((oldest = Runtime.Ages.IsOldest(age.Age)) ? ++counted : counted) < options.MaxAttempts)
            {
                // Rolled back below; retried after the backoff (none for the oldest: it has right of way).
                failures++;
            }
            finally
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
            }

            if (oldest)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
            else
            {
                await Task.Delay(Backoff(options, failures), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc cref="RunInTransactionAsync{T}"/>
    public Task RunInTransactionAsync(Func<KhonsuTransaction, CancellationToken, Task> work, KhonsuRetryOptions? options = null, CancellationToken cancellationToken = default)
        => RunInTransactionAsync<object?>(
            async (transaction, token) =>
            {
                await work(transaction, token).ConfigureAwait(false);
                return null;
            },
            options,
            cancellationToken);

    private static TimeSpan Backoff(KhonsuRetryOptions options, int attempt)
    {
        var ceiling = Math.Min(options.MaxDelay.TotalMilliseconds, options.BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
    }

    /// <summary>
    /// Installs Khonsu's schema (version columns, triggers, Khonsu's tables) on every backend now.
    /// For deployments with <c>Schema=Manual</c>; idempotent.
    /// </summary>
    public Task InstallSchemaAsync(CancellationToken cancellationToken = default) => Runtime.InstallSchemaAsync(cancellationToken).AsTask();

    /// <summary>Drives in-doubt transactions to their logged outcome now, rather than waiting for the sweeper.</summary>
    /// <exception cref="KhonsuException">SqlState 08006 (transient): the commit log could not be read (e.g. a Kafka cluster unreachable past its timeout); nothing was decided.</exception>
    public async Task<int> RecoverAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var report = await Runtime.RecoverAsync(cancellationToken).ConfigureAwait(false);
            return report.Committed + report.Aborted;
        }
        catch (Engine.Log.CommitLogUnavailableException error)
        {
            // The Engine's type is internal: the caller gets the SqlState a commit gets for the same cause.
            throw new KhonsuException($"Recovery could not read the commit log, and decided nothing: {error.Message}", "08006", isTransient: true, transactionId: null, error);
        }
    }

    /// <summary>
    /// Closes the shared state (commit log and its lock, sweeper, the backends' connection pools and
    /// their idle connections) of every bare connection string (<c>new KhonsuConnection(string)</c>):
    /// at once, or for a string with connections still open, when the last of them closes.
    /// Connections opened afterwards start afresh. Like ClearAllPools of other providers, it leaves
    /// the application's data sources alone: a runtime one of them holds too stays open until that
    /// data source is disposed.
    /// </summary>
    public static Task ClearAllPoolsAsync() => ConnectionStringDataSources.ClearAllAsync().AsTask();

    /// <summary>Closes the shared state of this connection's connection string as a bare one, as <see cref="ClearAllPoolsAsync"/> does for all.</summary>
    public static Task ClearPoolAsync(KhonsuConnection connection) => ConnectionStringDataSources.ClearAsync(connection.ConnectionString).AsTask();

    /// <summary>The open inner connection to a backend, opened on first use.</summary>
    /// <param name="async">False for a synchronous caller: a connection is opened with the provider's synchronous methods (see <see cref="KhonsuBackend.OpenConnectionAsync"/>).</param>
    internal async ValueTask<DbConnection> GetInnerConnectionAsync(KhonsuBackend backend, bool async, CancellationToken cancellationToken)
    {
        if (_inner.TryGetValue(backend, out var connection))
        {
            if (connection.State == ConnectionState.Open || CurrentTransaction?.Participants.HasOn(backend) == true)
            {
                return connection;
            }

            // It broke between transactions (a terminated session, a restarted server; the error went
            // to the statement that found it): nothing of a transaction is lost, so open a fresh one,
            // as the first use would have, rather than fail every later statement on this backend.
            _inner.Remove(backend);
            await Execution.SyncOrAsync.DisposeAsync(connection, async).ConfigureAwait(false);
        }

        connection = backend.CreateConnection();
        try
        {
            await backend.OpenConnectionAsync(connection, async, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await Execution.SyncOrAsync.DisposeAsync(connection, async).ConfigureAwait(false);
            throw;
        }

        _inner[backend] = connection;
        return connection;
    }

    private KhonsuTransaction StartTransaction(IsolationLevel isolationLevel, bool readOnly = false, bool deferrable = false, long? age = null)
    {
        if (_state != ConnectionState.Open)
        {
            throw new InvalidOperationException("BeginTransaction requires an open connection.");
        }

        if (CurrentTransaction is { IsImplicit: true })
        {
            throw new InvalidOperationException(
                "A statement run outside a transaction is still in progress on this connection (its reader is open; it commits when the reader is closed): close the reader before beginning a transaction.");
        }

        if (CurrentTransaction is not null)
        {
            throw new InvalidOperationException("The connection already has a transaction in progress; Khonsu does not nest transactions.");
        }

        if (_enlistment is { HasEnded: false })
        {
            throw new InvalidOperationException("The connection is enlisted in a TransactionScope: its statements run in the scope's transaction, and it cannot begin one of its own.");
        }

        CurrentTransaction = new KhonsuTransaction(this, IsolationLevels.Resolve(isolationLevel), readOnly, deferrable, age: age ?? TakeRetryAge());
        return CurrentTransaction;
    }

    /// <summary>
    /// The transaction of a writing statement run with no transaction in progress, at the default
    /// isolation level: statements that run while it lasts (while its reader is open) join it.
    /// </summary>
    internal KhonsuTransaction BeginImplicitTransaction()
    {
        CurrentTransaction = new KhonsuTransaction(this, IsolationLevels.Resolve(IsolationLevel.Unspecified), isImplicit: true);
        return CurrentTransaction;
    }
}
