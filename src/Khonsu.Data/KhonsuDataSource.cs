using System.Data.Common;

namespace Khonsu.Data;

/// <summary>
/// The modern ADO.NET entry point (as NpgsqlDataSource): built once from a Khonsu connection
/// string, it hands out connections that share one runtime (backends, catalog, commit log).
/// Disposing it closes that runtime; connections already handed out must be closed first.
/// </summary>
public sealed class KhonsuDataSource : DbDataSource
{
    private readonly string _connectionString;
    private readonly Microsoft.Extensions.Logging.ILoggerFactory? _loggerFactory;
    private readonly Func<KhonsuWriteConflict, KhonsuConflictPolicy>? _conflictHandler;
    private int _disposed;

    private KhonsuDataSource(string connectionString, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory, Func<KhonsuWriteConflict, KhonsuConflictPolicy>? conflictHandler)
    {
        _connectionString = connectionString;
        _loggerFactory = loggerFactory;
        _conflictHandler = conflictHandler;
    }

    public override string ConnectionString => _connectionString;

    /// <summary>Creates a data source; the connection string is checked now, the databases are reached on first open.</summary>
    public static KhonsuDataSource Create(string connectionString) => Create(connectionString, null);

    /// <summary>
    /// Creates a data source that logs commits, aborts and recovery through <paramref name="loggerFactory"/>
    /// (category "Khonsu"; ids, names and counts only, never a connection string).
    /// </summary>
    public static KhonsuDataSource Create(string connectionString, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory)
        => Create(connectionString, loggerFactory, null);

    /// <summary>The builder's way in: also the handler that chooses a policy per write-write conflict.</summary>
    internal static KhonsuDataSource Create(
        string connectionString, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory, Func<KhonsuWriteConflict, KhonsuConflictPolicy>? conflictHandler)
    {
        _ = Configuration.KhonsuConnectionStringParser.Parse(connectionString);
        if (loggerFactory is not null)
        {
            Diagnostics.LoggerFactories.Register(connectionString, loggerFactory);
        }

        if (conflictHandler is not null)
        {
            Configuration.ConflictHandlers.Register(connectionString, conflictHandler);
        }

        return new KhonsuDataSource(connectionString, loggerFactory, conflictHandler);
    }

    public new KhonsuConnection CreateConnection() => (KhonsuConnection)CreateDbConnection();

    public new KhonsuConnection OpenConnection() => (KhonsuConnection)OpenDbConnection();

    public new async ValueTask<KhonsuConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
        => (KhonsuConnection)await OpenDbConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override DbConnection CreateDbConnection()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new KhonsuConnection(_connectionString);
    }

    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = CreateDbConnection();
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected override DbConnection OpenDbConnection() => OpenDbConnectionAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    protected override async ValueTask DisposeAsyncCore()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await Runtime.RuntimeCache.ClearAsync(_connectionString).ConfigureAwait(false);
            if (_loggerFactory is not null)
            {
                Diagnostics.LoggerFactories.Unregister(_connectionString, _loggerFactory);
            }

            if (_conflictHandler is not null)
            {
                Configuration.ConflictHandlers.Unregister(_connectionString, _conflictHandler);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeAsyncCore().AsTask().GetAwaiter().GetResult();
        }
    }
}
