using System.Data.Common;
using System.Globalization;
using Khonsu.Data.Configuration;
using Microsoft.Extensions.Logging;

namespace Khonsu.Data;

/// <summary>
/// Code-first configuration of a <see cref="KhonsuDataSource"/>, as NpgsqlDataSourceBuilder is for
/// Npgsql. It writes the equivalent Khonsu connection string (see <see cref="ConnectionString"/>)
/// and hands it to the same parser as every other entry point, so both ways of configuring Khonsu
/// accept and reject exactly the same things.
/// </summary>
public sealed class KhonsuDataSourceBuilder
{
    private readonly List<(string Key, string Value)> _backends = [];
    private readonly List<(string Table, string Backend)> _routes = [];
    private readonly List<(string Table, KhonsuConflictPolicy Policy)> _conflicts = [];
    private Func<KhonsuWriteConflict, KhonsuConflictPolicy>? _conflictHandler;
    private readonly Dictionary<string, string> _settings = new(StringComparer.OrdinalIgnoreCase);
    private ILoggerFactory? _loggerFactory;

    /// <summary>Adds a SQLite database, e.g. <c>AddSqlite("ledger", "Data Source=ledger.db")</c>.</summary>
    public KhonsuDataSourceBuilder AddSqlite(string name, string connectionString) => AddBackend("Sqlite", name, connectionString);

    /// <summary>Adds a PostgreSQL database, e.g. <c>AddPostgres("shop", "Host=db;Database=shop;Username=app")</c>.</summary>
    public KhonsuDataSourceBuilder AddPostgres(string name, string connectionString) => AddBackend("Postgres", name, connectionString);

    /// <summary>Adds a backend of any registered kind (the <c>&lt;Kind&gt;.&lt;name&gt;</c> key of the connection string).</summary>
    public KhonsuDataSourceBuilder AddBackend(string kind, string name, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(connectionString);
        _backends.Add(($"{kind}.{name}", connectionString));
        return this;
    }

    /// <summary>
    /// Names tables of <paramref name="backend"/> that a change-stream mirror follows (the
    /// <c>Follow.&lt;backend&gt;</c> key): their writes enter the commit log with row images.
    /// </summary>
    public KhonsuDataSourceBuilder Follow(string backend, params string[] tables)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(backend);
        ArgumentNullException.ThrowIfNull(tables);
        return Set($"Follow.{backend}", string.Join(",", tables));
    }

    /// <summary>Turns prefetching inside transactions on or off (the <c>Prefetch</c> key; see docs/prefetch.md).</summary>
    public KhonsuDataSourceBuilder Prefetch(bool on = true) => Set("Prefetch", on ? "On" : "Off");

    /// <summary>Sends statements on <paramref name="table"/> to <paramref name="backend"/> (the <c>Route.&lt;table&gt;</c> key).</summary>
    public KhonsuDataSourceBuilder Route(string table, string backend)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        ArgumentNullException.ThrowIfNull(backend);
        _routes.Add((table, backend));
        return this;
    }

    /// <summary>
    /// What a write to <paramref name="table"/> does when a concurrent transaction committed the same
    /// row first (the <c>Conflict.&lt;table&gt;</c> key): see <see cref="KhonsuConflictPolicy"/>.
    /// </summary>
    public KhonsuDataSourceBuilder ConflictPolicy(string table, KhonsuConflictPolicy policy)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        _conflicts.Add((table, policy));
        return this;
    }

    /// <summary>
    /// Chooses the policy for each write-write conflict a statement meets, over the tables'
    /// configured ones (given as <see cref="KhonsuWriteConflict.ConfiguredPolicy"/>). An exception
    /// it throws fails the statement, and the transaction must be rolled back.
    /// </summary>
    public KhonsuDataSourceBuilder OnWriteConflict(Func<KhonsuWriteConflict, KhonsuConflictPolicy> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _conflictHandler = handler;
        return this;
    }

    /// <summary>Where the commit log lives (the <c>Log</c> key): the embedded log's file, or <c>kafka://host:port/topic</c>.</summary>
    public KhonsuDataSourceBuilder Log(string path) => Set("Log", path);

    /// <summary>
    /// Materialises transaction_log from a Kafka log into a table of <paramref name="backend"/>
    /// (the <c>TransactionLog</c> key), for DBAs to query with psql or sqlite3.
    /// </summary>
    public KhonsuDataSourceBuilder TransactionLog(string backend) => Set("TransactionLog", backend);

    /// <summary>Whether Khonsu installs its schema on first open (the <c>Schema</c> key).</summary>
    public KhonsuDataSourceBuilder Schema(SchemaMode mode) => Set("Schema", mode.ToString());

    /// <summary>Name of the row-version column (the <c>VersionColumn</c> key).</summary>
    public KhonsuDataSourceBuilder VersionColumn(string column) => Set("VersionColumn", column);

    /// <summary>This process's name in the log (the <c>Node</c> key).</summary>
    public KhonsuDataSourceBuilder Node(string nodeId) => Set("Node", nodeId);

    /// <summary>How long a prepared transaction may wait for its decision (the <c>PrepareLease</c> key).</summary>
    public KhonsuDataSourceBuilder PrepareLease(TimeSpan lease) => Set("PrepareLease", Seconds(lease));

    /// <summary>How long a statement of a multi-backend transaction waits for a lock (the <c>LockTimeout</c> key).</summary>
    public KhonsuDataSourceBuilder LockTimeout(TimeSpan timeout) => Set("LockTimeout", Seconds(timeout));

    /// <summary>How a writing statement run outside a transaction runs (the <c>Autocommit</c> key).</summary>
    public KhonsuDataSourceBuilder Autocommit(AutocommitMode mode) => Set("Autocommit", mode.ToString());

    /// <summary>Runs PostgreSQL participants of Serializable transactions at PostgreSQL's own SERIALIZABLE (the <c>PostgresIsolation</c> key).</summary>
    public KhonsuDataSourceBuilder PostgresSerializable(bool serializable = true) => Set("PostgresIsolation", serializable ? "Serializable" : "RepeatableRead");

    /// <summary>How often the recovery sweeper runs; zero turns it off (the <c>RecoveryInterval</c> key).</summary>
    public KhonsuDataSourceBuilder RecoveryInterval(TimeSpan interval) => Set("RecoveryInterval", Seconds(interval));

    /// <summary>
    /// How long transaction_log keeps the rows of finished transactions (the <c>TransactionLogRetention</c>
    /// key); null keeps them for ever.
    /// </summary>
    public KhonsuDataSourceBuilder TransactionLogRetention(TimeSpan? retention) => Set("TransactionLogRetention", retention is { } kept ? Seconds(kept) : "Infinite");

    /// <summary>Logs commits, aborts and recovery to loggers of this factory (category "Khonsu").</summary>
    public KhonsuDataSourceBuilder UseLoggerFactory(ILoggerFactory? loggerFactory)
    {
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>The Khonsu connection string this builder describes; it may hold the backends' passwords.</summary>
    public string ConnectionString
    {
        get
        {
            var builder = new DbConnectionStringBuilder();
            foreach (var (key, value) in _backends)
            {
                builder[key] = value;
            }

            foreach (var (table, backend) in _routes)
            {
                builder["Route." + table] = backend;
            }

            foreach (var (table, policy) in _conflicts)
            {
                builder["Conflict." + table] = policy.ToString();
            }

            foreach (var (key, value) in _settings)
            {
                builder[key] = value;
            }

            return KhonsuConnectionStringParser.Prefix + builder.ConnectionString;
        }
    }

    /// <summary>Checks the configuration (with the connection-string parser's rules and messages) and builds the data source.</summary>
    public KhonsuDataSource Build() => KhonsuDataSource.Create(ConnectionString, _loggerFactory, _conflictHandler);

    /// <summary>The settings the data source will run with, as the parser reads them.</summary>
    internal KhonsuSettings BuildSettings() => KhonsuConnectionStringParser.Parse(ConnectionString);

    private KhonsuDataSourceBuilder Set(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _settings[key] = value;
        return this;
    }

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("R", CultureInfo.InvariantCulture);
}
