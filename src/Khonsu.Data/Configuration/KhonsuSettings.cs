namespace Khonsu.Data.Configuration;

/// <summary>Everything a Khonsu connection string says, parsed and checked.</summary>
internal sealed record KhonsuSettings
{
    public required IReadOnlyList<BackendSettings> Backends { get; init; }

    /// <summary>Path of the embedded commit log's SQLite database, or a log URI (kafka://host:port/topic), or null for the default.</summary>
    public string? LogPath { get; init; }

    /// <summary>Client settings for a log URI, from <c>Kafka.&lt;setting&gt;=value</c> keys (may hold a SASL password).</summary>
    public IReadOnlyDictionary<string, string> LogSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>Tables mapped to a backend by <c>Route.&lt;table&gt;=&lt;backend&gt;</c>.</summary>
    public IReadOnlyDictionary<string, string> Routes { get; init; } = new Dictionary<string, string>();

    /// <summary>Write-write conflict policies by table, from <c>Conflict.&lt;table&gt;=&lt;policy&gt;</c> (checked against the catalogs at open).</summary>
    public IReadOnlyDictionary<string, KhonsuConflictPolicy> ConflictPolicies { get; init; } = new Dictionary<string, KhonsuConflictPolicy>();

    /// <summary>
    /// Tables a mirror follows, by backend name, from <c>Follow.&lt;backend&gt;=&lt;table&gt;,&lt;table&gt;</c>:
    /// their writes carry row images into the commit log and never commit in one phase, so the change
    /// stream sees them (docs/mirror.md). Other tables pay nothing.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> FollowedTables { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The tables of backend <paramref name="backend"/> a mirror follows (none when the connection string names none).</summary>
    public IReadOnlyList<string> FollowedOn(string backend) => FollowedTables.TryGetValue(backend, out var tables) ? tables : [];

    public SchemaMode Schema { get; init; } = SchemaMode.Auto;

    /// <summary>Name of the row-version column.</summary>
    public string VersionColumn { get; init; } = "version";

    /// <summary>Name of this process in the log; default: host name and process id.</summary>
    public string? NodeId { get; init; }

    /// <summary>How long a prepared transaction may wait for its decision before recovery aborts it.</summary>
    public TimeSpan PrepareLease { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a statement of a transaction that spans several backends waits for a lock before
    /// failing as a serialization failure: no database sees a deadlock that crosses databases.
    /// </summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long beginning a deferrable read-only transaction waits for a safe snapshot before
    /// failing (key <c>SafeSnapshotTimeout</c>); the ADO.NET default command timeout.
    /// </summary>
    public TimeSpan SafeSnapshotTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether PostgreSQL participants of Serializable transactions run at PostgreSQL's own
    /// SERIALIZABLE (key <c>PostgresIsolation</c>) rather than REPEATABLE READ.
    /// </summary>
    public bool PostgresSerializable { get; init; }

    /// <summary>
    /// The backend that holds transaction_log materialised from a Kafka log (key <c>TransactionLog</c>),
    /// or null: with the embedded log the table lives in the log's file.
    /// </summary>
    public string? TransactionLogBackend { get; init; }

    /// <summary>How a writing statement run with no transaction in progress runs (key <c>Autocommit</c>).</summary>
    public AutocommitMode Autocommit { get; init; } = AutocommitMode.Transaction;

    /// <summary>Whether a connection opened inside a <c>TransactionScope</c> enlists in it (key <c>Enlist</c>), as Npgsql's do by default.</summary>
    public bool Enlist { get; init; } = true;

    /// <summary>Key <c>Prefetch</c>: prefetching inside transactions is on (off by default).</summary>
    public bool PrefetchOn { get; init; }

    /// <summary>Keys <c>PrefetchConfidence</c>, <c>PrefetchBudget</c>, <c>PrefetchState</c>, in whatever order they come.</summary>
    public PrefetchSettings PrefetchTuning { get; init; } = new();

    /// <summary>Prefetching's settings when it is on; null when it is off.</summary>
    public PrefetchSettings? Prefetch => PrefetchOn ? PrefetchTuning : null;

    /// <summary>How often the recovery sweeper runs; zero turns it off (recovery still runs at open).</summary>
    public TimeSpan RecoveryInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long transaction_log keeps the rows of a finished transaction (key
    /// <c>TransactionLogRetention</c>); null keeps them for ever. Rows of a transaction recovery has
    /// not finished are kept whatever their age.
    /// </summary>
    public TimeSpan? TransactionLogRetention { get; init; } = DefaultTransactionLogRetention;

    /// <summary>A week: long enough to look back over an incident found after a weekend.</summary>
    public static readonly TimeSpan DefaultTransactionLogRetention = TimeSpan.FromDays(7);
}
