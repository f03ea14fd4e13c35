using System.Data.Common;
using Khonsu.Data.Configuration;
using Khonsu.Data.Diagnostics;
using Khonsu.Data.Runtime;
using Microsoft.Extensions.Logging;

namespace Khonsu.Data;

/// <summary>
/// The modern ADO.NET entry point (as NpgsqlDataSource): built once from a Khonsu connection
/// string, it hands out connections that hold it, and through it the runtime (backends, catalog,
/// commit log, recovery) they run on. Its logger factory and write-conflict handler are its own.
/// </summary>
/// <remarks>
/// The runtime is shared with every other data source of the same connection string in the
/// process, and with bare <c>new KhonsuConnection(connectionString)</c> connections, because an
/// embedded log has one runtime per process; it closes when the last of them is disposed (see
/// docs/configuration.md, "Data sources and the runtime"). Disposing a data source refuses new
/// connections at once; connections of it already open keep working until they close, and the
/// runtime is let go when the last of them closes (at once if none is open), as a disposed
/// NpgsqlDataSource closes its busy connections when they are returned.
/// </remarks>
public sealed class KhonsuDataSource : DbDataSource
{
    private readonly string _connectionString;
    private readonly KhonsuSettings _settings;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly object _gate = new();
    private Task<RuntimeLease>? _lease;
    private int _openConnections;
    private bool _disposed;

    private KhonsuDataSource(string connectionString, KhonsuSettings settings, ILoggerFactory? loggerFactory, Func<KhonsuWriteConflict, KhonsuConflictPolicy>? conflictHandler)
    {
        _connectionString = connectionString;
        _settings = settings;
        _loggerFactory = loggerFactory;
        Logger = loggerFactory is null ? KhonsuLog.None : new KhonsuLog(loggerFactory.CreateLogger(KhonsuLog.Category));
        ConflictHandler = conflictHandler;
    }

    /// <inheritdoc/>
    public override string ConnectionString => _connectionString;

    /// <summary>Where the transactions of this data source's connections are logged.</summary>
    /// <summary>How many of its connections are open: what keeps its runtime alive after its disposal.</summary>
    internal int OpenConnections
    {
        get
        {
            lock (_gate)
            {
                return _openConnections;
            }
        }
    }

    internal KhonsuLog Logger { get; }

    /// <summary>The handler of <see cref="KhonsuDataSourceBuilder.OnWriteConflict"/>, if it was given one.</summary>
    internal Func<KhonsuWriteConflict, KhonsuConflictPolicy>? ConflictHandler { get; }

    /// <summary>Creates a data source; the connection string is checked now, the databases are reached on first open.</summary>
    public static KhonsuDataSource Create(string connectionString) => Create(connectionString, null);

    /// <summary>
    /// Creates a data source that logs commits, aborts and recovery through <paramref name="loggerFactory"/>
    /// (category "Khonsu"; ids, names and counts only, never a connection string).
    /// </summary>
    public static KhonsuDataSource Create(string connectionString, ILoggerFactory? loggerFactory)
        => Create(connectionString, loggerFactory, null);

    /// <summary>The builder's way in: also the handler that chooses a policy per write-write conflict.</summary>
    internal static KhonsuDataSource Create(string connectionString, ILoggerFactory? loggerFactory, Func<KhonsuWriteConflict, KhonsuConflictPolicy>? conflictHandler)
        => new(connectionString, KhonsuConnectionStringParser.Parse(connectionString), loggerFactory, conflictHandler);

    /// <summary>Creates a connection of this data source, not yet open; throws <see cref="ObjectDisposedException"/> once the data source is disposed.</summary>
    public new KhonsuConnection CreateConnection() => (KhonsuConnection)CreateDbConnection();

    /// <summary>Creates and opens a connection of this data source.</summary>
    public new KhonsuConnection OpenConnection() => (KhonsuConnection)OpenDbConnection();

    /// <inheritdoc cref="OpenConnection"/>
    public new async ValueTask<KhonsuConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
        => (KhonsuConnection)await OpenDbConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    protected override DbConnection CreateDbConnection()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new KhonsuConnection(this);
    }

    /// <inheritdoc/>
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

    /// <inheritdoc/>
    protected override DbConnection OpenDbConnection() => OpenDbConnectionAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// A connection of this data source opens: the runtime, started by the first open and held
    /// until the data source is disposed and its last connection has closed. Null once the data
    /// source is disposed. Each non-null answer is paired with one <see cref="ConnectionClosedAsync"/>.
    /// </summary>
    internal async Task<KhonsuRuntime?> ConnectionOpeningAsync(CancellationToken cancellationToken)
    {
        Task<RuntimeLease> lease;
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            _openConnections++;

            // Not cancelled by this open: the runtime serves every connection of the data source.
            lease = _lease ??= SharedRuntimes.AcquireAsync(_connectionString, _settings, _loggerFactory);
        }

        try
        {
            return (await lease.WaitAsync(cancellationToken).ConfigureAwait(false)).Runtime;
        }
        catch
        {
            lock (_gate)
            {
                // A runtime that failed to start is tried again by the next open (it holds nothing).
                if (_lease == lease && lease.IsFaulted)
                {
                    _lease = null;
                }
            }

            await ConnectionClosedAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A connection of this data source closed: after the data source's disposal, the last one lets the runtime go.</summary>
    internal Task ConnectionClosedAsync()
    {
        Task<RuntimeLease>? lease;
        lock (_gate)
        {
            if (--_openConnections > 0 || !_disposed)
            {
                return Task.CompletedTask;
            }

            (lease, _lease) = (_lease, null);
        }

        return ReleaseAsync(lease);
    }

    /// <summary>Refuses new connections at once; the runtime is let go now if no connection of this data source is open, else when the last of them closes.</summary>
    protected override async ValueTask DisposeAsyncCore()
    {
        Task<RuntimeLease>? lease;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_openConnections > 0)
            {
                return; // the last of them lets the runtime go
            }

            (lease, _lease) = (_lease, null);
        }

        await ReleaseAsync(lease).ConfigureAwait(false);
    }

    /// <inheritdoc cref="DisposeAsyncCore"/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeAsyncCore().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Lets the runtime go once it has started (a start that failed holds nothing); returns once it is closed, if this was its last holder.</summary>
    private static async Task ReleaseAsync(Task<RuntimeLease>? lease)
    {
        if (lease is null)
        {
            return;
        }

        await ((Task)lease).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (lease.IsCompletedSuccessfully)
        {
            await lease.Result.ReleaseAsync().ConfigureAwait(false);
        }
    }
}
