using System.Data;
using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Recovery;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Sqlite;

/// <summary>A SQLite database file as a Khonsu backend.</summary>
internal sealed class SqliteBackend : KhonsuBackend
{
    public const int BusyTimeoutMilliseconds = 30_000;

    // Microsoft.Data.Sqlite pools per connection string for the whole process: the pool is cleared
    // only when the last backend using that connection string closes, not under another runtime.
    private static readonly Dictionary<string, int> LiveBackends = new(StringComparer.Ordinal);
    private int _disposed;

    private readonly string _connectionString;
    private readonly string _dataSource;
    private SqliteAppliedMarkers? _markers;
    private volatile CatalogState _catalog = new(new BackendCatalog([]));

    public SqliteBackend(string name, string connectionString, string dataSource, KhonsuBackendOptions options)
        : base(name, options)
    {
        _connectionString = connectionString;
        _dataSource = dataSource;
        StatementAnalyzer = new SqliteStatementAnalyzer();
        WriteQueue = SqliteWriteQueue.For(connectionString);
        lock (LiveBackends)
        {
            LiveBackends[connectionString] = LiveBackends.GetValueOrDefault(connectionString) + 1;
        }
    }

    public override string Kind => "Sqlite";

    public override string? DatabaseFilePath => _dataSource.Equals(":memory:", StringComparison.OrdinalIgnoreCase) ? null : _dataSource;

    internal SqliteStatementAnalyzer StatementAnalyzer { get; }

    /// <summary>The in-process queue for this file's write lock, shared with every other runtime naming the file.</summary>
    internal SqliteWriteQueue WriteQueue { get; }

    internal CatalogState Catalog => _catalog;

    public override DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    /// <remarks>
    /// Microsoft.Data.Sqlite's asynchronous methods run synchronously, so the session's setup below
    /// completes at once for a synchronous caller too; only the open is chosen by <paramref name="async"/>.
    /// </remarks>
    public override async ValueTask OpenConnectionAsync(DbConnection connection, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            connection.Open();
        }

        SqliteConnectionObserver.Notify(connection);

        // SQLite's own busy handler waits in small steps; Microsoft.Data.Sqlite's retry loop sleeps far longer.
        await InnerCommands.ExecuteAsync(connection, null, $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds}; PRAGMA synchronous = FULL;", cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask InstallSchemaAsync(DbConnection connection, BackendTransaction? transaction, CancellationToken cancellationToken)
        => SqliteSchemaInstaller.InstallAsync((SqliteConnection)connection, (SqliteTransaction?)transaction?.InnerTransaction, Options.VersionColumn, cancellationToken);

    public override async ValueTask<BackendCatalog> LoadCatalogAsync(DbConnection connection, BackendTransaction? transaction, CancellationToken cancellationToken)
    {
        var catalog = await SqliteCatalogReader.ReadAsync((SqliteConnection)connection, (SqliteTransaction?)transaction?.InnerTransaction, Options.VersionColumn, cancellationToken).ConfigureAwait(false);
        _catalog = new CatalogState(catalog);
        return catalog;
    }

    /// <summary>A deferred transaction's snapshot starts at its first read or write lock, which the participant reports.</summary>
    public override bool BeginTakesSnapshot => false;

    public override async ValueTask<BackendTransaction> BeginTransactionAsync(
        DbConnection connection, TransactionId transactionId, IsolationLevel isolationLevel, CancellationToken cancellationToken)
    {
        var sqlite = (SqliteConnection)connection;
        var capture = await SqliteCapture.SessionAsync(sqlite, _catalog, Options.VersionColumn, cancellationToken).ConfigureAwait(false);

        // Deferred: the snapshot starts at the first read, the write lock at the first write.
        var local = sqlite.BeginTransaction(deferred: true);
        capture.Start();
        return new SqliteBackendTransaction(this, sqlite, local, capture, transactionId, isolationLevel == IsolationLevel.Serializable);
    }

    public override TransactionLogTables TransactionLogTables => SqliteTransactionLogTables.Instance;

    public override IRecoverableResource CreateRecoveryResource() => new SqliteRecoveryResource(this, _connectionString);

    public override AppliedMarkers AppliedMarkers => _markers ??= new SqliteAppliedMarkers(this, _connectionString);

    public override LogOwnerTable LogOwnerTable => SqliteLogOwnerTable.Instance;

    /// <summary>Clears the pool of this connection string once no other backend in the process uses it (idle handles keep the file open).</summary>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        bool last;
        lock (LiveBackends)
        {
            var live = LiveBackends[_connectionString] - 1;
            last = live == 0;
            if (last)
            {
                LiveBackends.Remove(_connectionString);
            }
            else
            {
                LiveBackends[_connectionString] = live;
            }
        }

        if (last)
        {
            // A connection in use now is closed when it goes back, not pooled again.
            SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The catalog as loaded once: each pooled handle's capture session keeps the instance its
    /// triggers were built for, and builds them again when the backend's is another (a schema change).
    /// </summary>
    internal sealed record CatalogState(BackendCatalog Catalog)
    {
        /// <summary>Tables by name, built once per catalog rather than at every prepare.</summary>
        public IReadOnlyDictionary<string, TableInfo> ByName { get; } = Catalog.Tables.ToDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);

        /// <summary>Result shapes learnt against this catalog: a schema change starts afresh.</summary>
        public SqliteReadShapes ReadShapes => _readShapes ??= new SqliteReadShapes(ByName);

        private SqliteReadShapes? _readShapes;
    }
}
