using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Data.Routing;
using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Log;
using Khonsu.Engine.SharedLog;
using Khonsu.Engine.Recovery;

namespace Khonsu.Data.Runtime;

/// <summary>
/// What every connection with the same connection string shares, held by their data sources (see
/// <see cref="SharedRuntimes"/>): the backends and their
/// catalogs, the router, the commit log, the coordinator and recovery, and with a Kafka log and
/// <c>TransactionLog=&lt;backend&gt;</c> the loop that materialises transaction_log. Built on first open.
/// </summary>
internal sealed class KhonsuRuntime : IAsyncDisposable
{
    private readonly Dictionary<KhonsuBackend, BackendCatalog> _catalogs;
    private readonly RecoverySweeper _sweeper;
    private readonly SemaphoreSlim _catalogLock = new(1, 1);

    /// <summary>How often a caught-up materialiser looks for new records in the Kafka log.</summary>
    private static readonly TimeSpan TransactionLogPollInterval = TimeSpan.FromMilliseconds(250);

    private KhonsuRuntime(
        KhonsuSettings settings,
        IReadOnlyList<KhonsuBackend> backends,
        Dictionary<KhonsuBackend, BackendCatalog> catalogs,
        ICommitLog log,
        string nodeId,
        Diagnostics.KhonsuLog logger,
        ConflictPolicies conflictPolicies)
    {
        ConflictPolicies = conflictPolicies;
        Logger = logger;
        Settings = settings;
        Backends = backends;
        _catalogs = catalogs;
        Log = log;
        NodeId = nodeId;
        Router = new StatementRouter(backends, settings.Routes, new TableMap(catalogs.Select(c => (c.Key, c.Value))));
        Coordinator = new CommitCoordinator(log, nodeId, CertificationStrategy.For(log, Certifier));
        // Holding the embedded log, this runtime's coordinator is the only one that can decide its
        // transactions: recovery aborts at once what an earlier run left prepared (no lease).
        Recovery = new RecoveryManager(
            log,
            backends.Select(b => b.CreateRecoveryResource()),
            nodeId,
            Coordinator.IsInFlight,
            settings.PrepareLease,
            finished: Certifier.Finished,
            exclusiveLog: log is EmbeddedCommitLog { Exclusive: true });
        _sweeper = new RecoverySweeper(RecoverAsync, settings.RecoveryInterval);
        if (TransactionLogHolder(settings, backends) is { } holder)
        {
            var holderSettings = settings.Backends.First(b => b.Name.Equals(holder.Name, StringComparison.OrdinalIgnoreCase));
            TransactionLog = new TransactionLogMaterializer(
                log,
                holder,
                holder.TransactionLogTables!,
                LogLocation.KafkaTopic(settings.LogPath!),
                TransactionLogPollInterval,
                logger,
                message => LogLocation.ScrubLogSecrets(SecretScrubber.Scrub(message, holderSettings.ConnectionString), settings));
        }

        // One runtime holds an embedded log (LogFileLock): its coordinator is the only one appending commit records to it.
        Truncation = new TruncationSweeper(log, backends, Coordinator.IsInFlight, settings.TransactionLogRetention, TransactionLog, settings.RecoveryInterval, logger);
    }

    public KhonsuSettings Settings { get; }

    /// <summary>Prefetching inside transactions (the model and template shapes); null when <c>Prefetch</c> is off.</summary>
    public Prefetch.RuntimePrefetch? Prefetch { get; private init; }

    public IReadOnlyList<KhonsuBackend> Backends { get; }

    public ICommitLog Log { get; }

    public string NodeId { get; }

    public StatementRouter Router { get; }

    /// <summary>Each table's write-write conflict policy (Conflict.&lt;table&gt; keys), checked against the catalogs at open.</summary>
    public ConflictPolicies ConflictPolicies { get; }

    public CommitCoordinator Coordinator { get; }

    /// <summary>The ages of the live transactions, which decide who wins a wait across databases (see <see cref="TransactionAges"/>).</summary>
    public TransactionAges Ages { get; } = new();

    /// <summary>Certifies this process's transactions in commit order (see <see cref="CommitCertifier"/>).</summary>
    public CommitCertifier Certifier { get; } = new();

    public RecoveryManager Recovery { get; }

    /// <summary>Deletes what the log, transaction_log and the applied-markers no longer need, every <c>RecoveryInterval</c>.</summary>
    public TruncationSweeper Truncation { get; }

    /// <summary>The loop that materialises transaction_log from the Kafka log, or null without <c>TransactionLog</c>.</summary>
    public TransactionLogMaterializer? TransactionLog { get; }

    /// <summary>
    /// Where the runtime's own events (its start, recovery, transaction_log, fencing) are logged: to
    /// the logger factory of every data source that holds it (<see cref="Diagnostics.HoldersLogger"/>).
    /// A transaction's outcome goes to its connection's data source's logger instead.
    /// </summary>
    public Diagnostics.KhonsuLog Logger { get; }

    /// <summary>One recovery pass, logged: Information for what it finished, Warning for what it left in doubt.</summary>
    public async ValueTask<RecoveryReport> RecoverAsync(CancellationToken cancellationToken)
    {
        RecoveryReport report;
        try
        {
            report = await Recovery.RecoverAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Logger.RecoveryFailed(error.GetType().Name);
            throw;
        }

        if (report.Committed + report.Aborted > 0)
        {
            Logger.Recovered(report.Committed, report.Aborted);
        }

        if (report.InDoubt > 0)
        {
            Logger.StillInDoubt(report.InDoubt);
        }

        return report;
    }

    /// <summary>Bumped whenever a catalog changes, so sessions know to refresh per-connection state.</summary>
    public int CatalogVersion { get; private set; }

    public BackendCatalog CatalogOf(KhonsuBackend backend)
    {
        lock (_catalogs)
        {
            return _catalogs[backend];
        }
    }

    public static async Task<KhonsuRuntime> CreateAsync(KhonsuSettings settings, Diagnostics.KhonsuLog logger, CancellationToken cancellationToken)
    {
        var nodeId = settings.NodeId ?? $"{Environment.MachineName}:{Environment.ProcessId}";
        var appendTables = settings.ConflictPolicies.Where(p => p.Value == KhonsuConflictPolicy.Append).Select(p => p.Key).ToList();
        var options = new KhonsuBackendOptions(settings.VersionColumn, nodeId, settings.LockTimeout, settings.PostgresSerializable, appendTables);
        var backends = new List<KhonsuBackend>(settings.Backends.Count);
        ICommitLog log;
        ConflictPolicies conflictPolicies;
        var catalogs = new Dictionary<KhonsuBackend, BackendCatalog>();
        try
        {
            foreach (var settingsOfBackend in settings.Backends)
            {
                backends.Add(CreateBackend(settingsOfBackend, options with { FollowedTables = settings.FollowedOn(settingsOfBackend.Name) }));
            }

            // The log first: a runtime refused its embedded log (another process holds it) touches no database.
            log = await LogLocation.OpenAsync(settings, backends, nodeId, logger.CommitLogWarning, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A runtime that fails to start is retried at the next open: leave no pool behind.
            await DisposeAllAsync(backends).ConfigureAwait(false);
            throw;
        }

        try
        {
            // Before recovery and before any transaction: the gids they prepare carry the log's tag.
            foreach (var backend in backends)
            {
                backend.GoverningLog = log.Identity;
            }

            // A database that belongs to another log is refused before the schema install touches
            // it; one installed just now is claimed right after.
            await LogFence.ClaimAllAsync(settings, backends, log.Identity, nodeId, _ => { }, cancellationToken).ConfigureAwait(false);
            foreach (var backend in backends)
            {
                catalogs[backend] = await PrepareBackendAsync(backend, settings.Schema, cancellationToken).ConfigureAwait(false);
            }

            if (TransactionLogHolder(settings, backends) is { } holder && settings.Schema == SchemaMode.Auto)
            {
                await CreateTransactionLogTablesAsync(holder, cancellationToken).ConfigureAwait(false);
            }

            conflictPolicies = ConflictPolicies.Resolve(settings, backends, new TableMap(catalogs.Select(c => (c.Key, c.Value))));
            await LogFence.ClaimAllAsync(settings, backends, log.Identity, nodeId, logger.NotFenced, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await log.DisposeAsync().ConfigureAwait(false);
            await DisposeAllAsync(backends).ConfigureAwait(false);
            throw;
        }

        if (log is ISharedCommitLog shared)
        {
            // A commit that goes without its end record this long is in doubt: snapshots stop waiting for it.
            shared.Certifier.OverdueAfter = settings.PrepareLease;
        }

        var runtime = new KhonsuRuntime(settings, backends, catalogs, log, nodeId, logger, conflictPolicies)
        {
            Prefetch = settings.Prefetch is { } prefetch ? await Khonsu.Data.Prefetch.RuntimePrefetch.OpenAsync(prefetch, logger, cancellationToken).ConfigureAwait(false) : null,
        };
        var logDescription = LogLocation.IsKafka(settings.LogPath) ? settings.LogPath!.Trim() : LogLocation.Resolve(settings, backends);
        logger.Started(nodeId, string.Join(", ", backends.Select(b => $"{b.Name} ({b.Kind})")), logDescription);
        try
        {
            await runtime.RecoverAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await runtime.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        runtime._sweeper.Start();
        runtime.Truncation.Start();
        runtime.TransactionLog?.Start();
        return runtime;
    }

    /// <summary>
    /// After DDL on a backend: install the schema for new tables (in the same transaction, so a
    /// table created in a transaction is tracked from its first row) and refresh the routing map.
    /// </summary>
    public ValueTask OnSchemaChangedAsync(KhonsuBackend backend, DbConnection connection, BackendTransaction? transaction, CancellationToken cancellationToken)
        => RefreshSchemaAsync(backend, connection, transaction, Settings.Schema == SchemaMode.Auto, cancellationToken);

    private async ValueTask RefreshSchemaAsync(KhonsuBackend backend, DbConnection connection, BackendTransaction? transaction, bool install, CancellationToken cancellationToken)
    {
        await _catalogLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var catalog = await ReadSchemaAsync(backend, connection, transaction, install, cancellationToken).ConfigureAwait(false);
            lock (_catalogs)
            {
                _catalogs[backend] = catalog;
                Router.Replace(new TableMap(_catalogs.Select(c => (c.Key, c.Value))));
                CatalogVersion++;
            }
        }
        finally
        {
            _catalogLock.Release();
        }
    }

    /// <summary>
    /// Installs the schema on every backend now (for <c>Schema=Manual</c> deployments), and records
    /// this runtime's log as each backend's, which an open without the schema could not do.
    /// </summary>
    public async ValueTask InstallSchemaAsync(CancellationToken cancellationToken)
    {
        foreach (var backend in Backends)
        {
            await WithConnectionAsync(
                backend,
                async connection =>
                {
                    await RefreshSchemaAsync(backend, connection, null, install: true, cancellationToken).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
        }

        await LogFence.ClaimAllAsync(Settings, Backends, Log.Identity, NodeId, Logger.NotFenced, cancellationToken).ConfigureAwait(false);

        if (TransactionLog is not null)
        {
            await CreateTransactionLogTablesAsync(TransactionLog.Backend, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // First: a truncation pass uses the log, the materialised table and the backends.
        await Truncation.DisposeAsync().ConfigureAwait(false);
        if (TransactionLog is not null)
        {
            await TransactionLog.DisposeAsync().ConfigureAwait(false);
        }

        await _sweeper.DisposeAsync().ConfigureAwait(false);
        await Log.DisposeAsync().ConfigureAwait(false);
        await SavePrefetchStateAsync().ConfigureAwait(false);

        // Last: the materialiser and the sweeper used the backends' connections until now.
        await DisposeAllAsync(Backends).ConfigureAwait(false);
        _catalogLock.Dispose();
    }

    /// <summary>The model outlives the runtime in its state file; failing to write it loses only what was learned.</summary>
    private async ValueTask SavePrefetchStateAsync()
    {
        try
        {
            await (Prefetch?.SaveAsync(CancellationToken.None) ?? Task.CompletedTask).ConfigureAwait(false);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            Logger.PrefetchStateNotSaved(Prefetch!.Settings.StatePath!, error);
        }
    }

    private static async ValueTask DisposeAllAsync(IEnumerable<KhonsuBackend> backends)
    {
        List<Exception>? errors = null;
        foreach (var backend in backends)
        {
            try
            {
                await backend.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception error)
            {
                (errors ??= []).Add(error);
            }
        }

        if (errors is not null)
        {
            throw errors.Count == 1 ? errors[0] : new AggregateException(errors);
        }
    }

    private static KhonsuBackend CreateBackend(BackendSettings settings, KhonsuBackendOptions options)
    {
        var provider = BackendRegistry.Resolve(settings.Kind, settings.Key);
        try
        {
            return provider.CreateBackend(settings.Name, settings.ConnectionString, options);
        }
        catch (ArgumentException error)
        {
            throw new KhonsuException($"Key '{settings.Key}': its connection string is invalid: {SecretScrubber.Scrub(error.Message, settings.ConnectionString)}");
        }
    }

    /// <summary>The backend named by <c>TransactionLog</c> (the parser checked that it exists), if it can hold the table.</summary>
    private static KhonsuBackend? TransactionLogHolder(KhonsuSettings settings, IReadOnlyList<KhonsuBackend> backends)
    {
        if (settings.TransactionLogBackend is not { } name)
        {
            return null;
        }

        var holder = backends.First(b => b.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        return holder.TransactionLogTables is null
            ? throw new KhonsuException($"Key 'TransactionLog': backend '{holder.Name}' ({holder.Kind}) cannot hold transaction_log; name a Postgres or Sqlite backend.")
            : holder;
    }

    private static Task<bool> CreateTransactionLogTablesAsync(KhonsuBackend holder, CancellationToken cancellationToken)
        => WithConnectionAsync(
            holder,
            async connection =>
            {
                await holder.TransactionLogTables!.CreateAsync(connection, cancellationToken).ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    private static Task<BackendCatalog> PrepareBackendAsync(KhonsuBackend backend, SchemaMode schema, CancellationToken cancellationToken)
        => WithConnectionAsync(backend, connection => ReadSchemaAsync(backend, connection, null, schema == SchemaMode.Auto, cancellationToken).AsTask(), cancellationToken);

    /// <summary>Installs Khonsu's schema when asked, then reads the catalog, on the given connection and transaction.</summary>
    private static async ValueTask<BackendCatalog> ReadSchemaAsync(KhonsuBackend backend, DbConnection connection, BackendTransaction? transaction, bool install, CancellationToken cancellationToken)
    {
        if (install)
        {
            await backend.InstallSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        }

        return await backend.LoadCatalogAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs work on a fresh inner connection of its own (schema work outside any transaction).</summary>
    private static async Task<T> WithConnectionAsync<T>(KhonsuBackend backend, Func<DbConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        var connection = backend.CreateConnection();
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return await work(connection).ConfigureAwait(false);
        }
    }
}
