using System.Globalization;
using System.Text;
using Dapper;
using Khonsu.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>
/// The databases of one suite run, each in two copies with the same schema and rows: one that
/// Khonsu owns (it adds version columns and triggers on first open) and one that only the raw
/// baselines touch, so a baseline never pays for Khonsu's triggers.
/// <list type="bullet">
/// <item>PostgreSQL: kb_k_* (Khonsu) and kb_r_* (raw) with table pg_accounts; kb_ak_* and kb_ar_* with the small hot table ab_accounts (abort rates).</item>
/// <item>SQLite (WAL, synchronous=FULL): k1..k3.db (Khonsu) and r1..r3.db (raw) with tables s1_accounts..s3_accounts; decisions.db for the hand-written two-phase commit.</item>
/// <item>Khonsu copies for configurations a section runs side by side: kb_kd_* and k1-direct.db (Autocommit=Direct), kb_aks_* (PostgresIsolation=Serializable, and the Append policy).</item>
/// </list>
/// A database belongs to one commit log, and an embedded log to one runtime: every configuration
/// has a log of its own, so two configurations that run side by side need databases of their own,
/// and <see cref="OpenOnceAsync"/> closes the runtimes of earlier configurations on the same
/// databases and hands the databases over to the new one.
/// </summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    public const int Accounts = 1_000;
    public const int HotRows = 10;
    public const int SqliteFiles = 3;

    private readonly string _admin;
    private readonly bool _ownsDirectory;
    private readonly List<string> _databases = [];

    // Every Khonsu connection string handed out, with the databases it names (keys of DatabaseKeys).
    private readonly Dictionary<string, string[]> _khonsuStrings = new(StringComparer.Ordinal);

    private BenchEnvironment(string? admin, string directory, bool ownsDirectory)
    {
        _admin = admin ?? string.Empty;
        Directory = directory;
        _ownsDirectory = ownsDirectory;
    }

    public string Directory { get; }

    public string KhonsuPostgres { get; private set; } = string.Empty;

    /// <summary>A copy of <see cref="KhonsuPostgres"/> for Autocommit=Direct, which runs beside the default in the autocommit section.</summary>
    public string KhonsuPostgresDirect { get; private set; } = string.Empty;

    public string RawPostgres { get; private set; } = string.Empty;

    public string KhonsuAbortPostgres { get; private set; } = string.Empty;

    /// <summary>A copy of <see cref="KhonsuAbortPostgres"/> for the configuration that runs beside it (PostgresIsolation=Serializable, the Append policy).</summary>
    public string KhonsuAbortSecondPostgres { get; private set; } = string.Empty;

    public string RawAbortPostgres { get; private set; } = string.Empty;

    public string KhonsuSqlitePath(int i) => Path.Combine(Directory, $"k{i}.db");

    /// <summary>A copy of k1.db for Autocommit=Direct.</summary>
    public string KhonsuSqliteDirectPath => Path.Combine(Directory, "k1-direct.db");

    public string RawSqlitePath(int i) => Path.Combine(Directory, $"r{i}.db");

    public string DecisionsPath => Path.Combine(Directory, "decisions.db");

    public static string SqliteTable(int i) => $"s{i}_accounts";

    /// <summary>Khonsu over one SQLite file; <paramref name="autocommitDirect"/>: with <c>Autocommit=Direct</c> (over the copy of file 1, with a log file of its own).</summary>
    public string KhonsuSqliteOnly(int i, bool autocommitDirect = false)
    {
        if (autocommitDirect && i != 1)
        {
            throw new ArgumentOutOfRangeException(nameof(i), i, "Only SQLite file 1 has a copy for Autocommit=Direct.");
        }

        var path = autocommitDirect ? KhonsuSqliteDirectPath : KhonsuSqlitePath(i);
        return Remember(
            $"Khonsu:Sqlite.s{i}=\"Data Source={path}\";Log=\"{Log(autocommitDirect ? $"s{i}-direct" : $"s{i}")}\";RecoveryInterval=0{(autocommitDirect ? ";Autocommit=Direct" : "")}",
            path);
    }

    /// <summary>Khonsu over the PostgreSQL database alone; <paramref name="autocommitDirect"/> as for <see cref="KhonsuSqliteOnly"/>.</summary>
    /// <param name="log">The log's keys (<c>Log=...</c> and any <c>Kafka.*</c>); default: an embedded log file of its own.</param>
    public string KhonsuPostgresOnly(string? log = null, bool autocommitDirect = false)
    {
        var database = autocommitDirect ? KhonsuPostgresDirect : KhonsuPostgres;
        return Remember($"Khonsu:Postgres.pg=\"{database}\";{log ?? EmbeddedLog(autocommitDirect ? "pg-direct" : "pg")};RecoveryInterval=0{(autocommitDirect ? ";Autocommit=Direct" : "")}", database);
    }

    /// <summary>Khonsu over PostgreSQL plus <paramref name="backends"/> - 1 SQLite files (the cross-backend transfer is 2).</summary>
    /// <param name="log">The log's keys (<c>Log=...</c> and any <c>Kafka.*</c>); default: an embedded log file of its own.</param>
    public string KhonsuBackends(int backends, string? log = null)
    {
        var builder = new StringBuilder($"Khonsu:Postgres.pg=\"{KhonsuPostgres}\"");
        var databases = new List<string> { KhonsuPostgres };
        for (var i = 1; i < backends; i++)
        {
            builder.Append(CultureInfo.InvariantCulture, $";Sqlite.s{i}=\"Data Source={KhonsuSqlitePath(i)}\"");
            databases.Add(KhonsuSqlitePath(i));
        }

        builder.Append(CultureInfo.InvariantCulture, $";{log ?? EmbeddedLog($"n{backends}")};RecoveryInterval=0");
        return Remember(builder.ToString(), [.. databases]);
    }

    public string KhonsuAbort() => Remember($"Khonsu:Postgres.ab=\"{KhonsuAbortPostgres}\";Log=\"{Log("ab")}\";RecoveryInterval=0", KhonsuAbortPostgres);

    /// <summary>The abort-rate workload with PostgreSQL participants at PostgreSQL's own SERIALIZABLE (on the copy: it runs beside <see cref="KhonsuAbort"/>).</summary>
    public string KhonsuAbortOnPostgresSerializable()
        => Remember($"Khonsu:Postgres.ab=\"{KhonsuAbortSecondPostgres}\";Log=\"{Log("ab-ser")}\";RecoveryInterval=0;PostgresIsolation=Serializable", KhonsuAbortSecondPostgres);

    /// <summary>The abort-rate database with <c>Conflict.ap_events=Append</c> (on the copy) or without it, side by side.</summary>
    public string KhonsuAppend(bool append)
    {
        var database = append ? KhonsuAbortSecondPostgres : KhonsuAbortPostgres;
        return Remember($"Khonsu:Postgres.ab=\"{database}\";Log=\"{Log(append ? "ap-append" : "ap-fail")}\";RecoveryInterval=0{(append ? ";Conflict.ap_events=Append" : "")}", database);
    }

    private string Log(string name) => Path.Combine(Directory, $"log-{name}.db");

    /// <summary>The <c>Log=</c> key of an embedded log file of its own (one runtime per log file).</summary>
    public string EmbeddedLog(string name) => $"Log=\"{Log(name)}\"";

    /// <summary>Remembers a Khonsu connection string, so its runtime is closed when the suite ends and its databases are handed over (see <see cref="OpenOnceAsync"/>).</summary>
    /// <param name="databases">The databases it names: a SQLite file's path, or a PostgreSQL connection string.</param>
    public string Remember(string connectionString, params string[] databases)
    {
        _khonsuStrings[connectionString] = databases;
        return connectionString;
    }

    public static async Task<BenchEnvironment> CreateAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var owns = options.WorkDirectory is null;
        var directory = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), "khonsu-bench", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var environment = new BenchEnvironment(options.Postgres, directory, owns);
        try
        {
            await environment.CreateSqliteAsync(cancellationToken);
            if (options.Postgres is not null)
            {
                await environment.CreatePostgresAsync(cancellationToken);
            }
        }
        catch
        {
            await environment.DisposeAsync();
            throw;
        }

        return environment;
    }

    private async Task CreateSqliteAsync(CancellationToken cancellationToken)
    {
        for (var i = 1; i <= SqliteFiles; i++)
        {
            foreach (var path in i == 1 ? [KhonsuSqlitePath(i), KhonsuSqliteDirectPath, RawSqlitePath(i)] : new[] { KhonsuSqlitePath(i), RawSqlitePath(i) })
            {
                await CreateSqliteFileAsync(path, SqliteTable(i), cancellationToken);
            }
        }

        await using var decisions = await OpenRawSqliteAsync(DecisionsPath, cancellationToken);
        await decisions.ExecuteAsync(new CommandDefinition(
            "PRAGMA journal_mode = WAL; CREATE TABLE decisions (gid TEXT PRIMARY KEY, decided_at TEXT NOT NULL)", cancellationToken: cancellationToken));
    }

    /// <summary>A SQLite file in WAL mode with <see cref="Accounts"/> accounts in <paramref name="table"/>.</summary>
    public static async Task CreateSqliteFileAsync(string path, string table, CancellationToken cancellationToken)
    {
        await using var connection = await OpenRawSqliteAsync(path, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL", cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            $"CREATE TABLE {table} (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL); " +
            $"WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < {Accounts}) " +
            $"INSERT INTO {table} SELECT id, 'owner-' || id, 1000000 FROM n",
            cancellationToken: cancellationToken));
    }

    /// <summary>A raw SQLite connection at Khonsu's durability: WAL (set per file), synchronous=FULL, a long busy timeout.</summary>
    public static async Task<SqliteConnection> OpenRawSqliteAsync(string path, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync(cancellationToken);
        SqliteStatementCounter.Attach(connection);
        await connection.ExecuteAsync(new CommandDefinition("PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL", cancellationToken: cancellationToken));
        return connection;
    }

    private async Task CreatePostgresAsync(CancellationToken cancellationToken)
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        KhonsuPostgres = await CreateDatabaseAsync($"kb_k_{suffix}", "pg_accounts", Accounts, cancellationToken);
        KhonsuPostgresDirect = await CreateDatabaseAsync($"kb_kd_{suffix}", "pg_accounts", Accounts, cancellationToken);
        RawPostgres = await CreateDatabaseAsync($"kb_r_{suffix}", "pg_accounts", Accounts, cancellationToken);
        KhonsuAbortPostgres = await CreateDatabaseAsync($"kb_ak_{suffix}", "ab_accounts", HotRows, cancellationToken);
        KhonsuAbortSecondPostgres = await CreateDatabaseAsync($"kb_aks_{suffix}", "ab_accounts", HotRows, cancellationToken);
        RawAbortPostgres = await CreateDatabaseAsync($"kb_ar_{suffix}", "ab_accounts", HotRows, cancellationToken);
    }

    /// <summary>
    /// A scratch PostgreSQL database of its own (<paramref name="prefix"/> and a random suffix, dropped
    /// at the end) with <paramref name="rows"/> accounts in <paramref name="table"/>; its connection string.
    /// </summary>
    public Task<string> CreateScratchPostgresAsync(string prefix, string table, int rows, CancellationToken cancellationToken)
        => CreateDatabaseAsync($"kb_{prefix}_{Guid.NewGuid().ToString("N")[..12]}", table, rows, cancellationToken, maxPoolSize: 150);

    private async Task<string> CreateDatabaseAsync(string name, string table, int rows, CancellationToken cancellationToken, int maxPoolSize = 100)
    {
        await using (var admin = new NpgsqlConnection(_admin))
        {
            await admin.OpenAsync(cancellationToken);
            await admin.ExecuteAsync(new CommandDefinition($"CREATE DATABASE {name}", cancellationToken: cancellationToken));
        }

        _databases.Add(name);
        // A closed Khonsu runtime (ClearPoolAsync) closes its PostgreSQL pool, so the log section's
        // runtime per run leaves no idle connections behind.
        var connectionString = new NpgsqlConnectionStringBuilder(_admin) { Database = name, MaxPoolSize = maxPoolSize }.ConnectionString;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"CREATE TABLE {table} (id integer PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL); " +
            $"INSERT INTO {table} SELECT g, 'owner-' || g, 1000000 FROM generate_series(1, {rows}) g",
            cancellationToken: cancellationToken));
        return connectionString;
    }

    /// <summary>
    /// Opens a Khonsu configuration once, so schema install and recovery happen before any
    /// measurement. Its databases belonged to the log of an earlier configuration: that one's
    /// runtime is closed first, and the databases are handed over to this one's log.
    /// </summary>
    public async Task OpenOnceAsync(string connectionString, CancellationToken cancellationToken)
    {
        var databases = _khonsuStrings[connectionString];
        foreach (var (other, theirs) in _khonsuStrings)
        {
            if (other != connectionString && theirs.Intersect(databases, StringComparer.Ordinal).Any())
            {
                await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(other));
            }
        }

        foreach (var database in databases)
        {
            await HandOverAsync(database, cancellationToken);
        }

        await using var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
    }

    /// <summary>
    /// What `khonsu log adopt` does, cut short for scratch databases whose earlier runtime is
    /// closed: forget the log they recorded, so that the next runtime records its own. Refused if
    /// the earlier log left a transaction prepared there (that log alone could settle it).
    /// </summary>
    /// <param name="database">A SQLite file's path, or a PostgreSQL connection string (the one with '=' in it).</param>
    private static async Task HandOverAsync(string database, CancellationToken cancellationToken)
    {
        if (!database.Contains('=', StringComparison.Ordinal))
        {
            await using var sqlite = await OpenRawSqliteAsync(database, cancellationToken);
            if (await sqlite.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM sqlite_master WHERE name = 'khonsu_log_owner'", cancellationToken: cancellationToken)) > 0)
            {
                await sqlite.ExecuteAsync(new CommandDefinition("DELETE FROM khonsu_log_owner", cancellationToken: cancellationToken));
            }

            return;
        }

        await using var postgres = new NpgsqlConnection(database);
        await postgres.OpenAsync(cancellationToken);
        var prepared = await postgres.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()", cancellationToken: cancellationToken));
        if (prepared > 0)
        {
            throw new InvalidOperationException($"Database {postgres.Database} holds {prepared} prepared transaction(s) of an earlier configuration's log: it cannot be handed over.");
        }

        if (await postgres.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT to_regclass('khonsu.log_owner') IS NOT NULL", cancellationToken: cancellationToken)))
        {
            await postgres.ExecuteAsync(new CommandDefinition("DELETE FROM khonsu.log_owner", cancellationToken: cancellationToken));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connectionString in _khonsuStrings.Keys)
        {
            try
            {
                await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
            }
            catch (Exception e) when (e is InvalidOperationException or System.Data.Common.DbException)
            {
                // Never opened.
            }
        }

        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        foreach (var name in _databases)
        {
            try
            {
                await DropDatabaseAsync(name);
            }
            catch (NpgsqlException e)
            {
                await Console.Error.WriteLineAsync($"could not drop scratch database {name}: {e.Message}");
            }
        }

        if (_ownsDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere; it stays under the temporary directory.
            }
        }
    }

    private async Task DropDatabaseAsync(string name)
    {
        // Prepared transactions left by an interrupted run block DROP DATABASE: roll them back from inside.
        var inside = new NpgsqlConnectionStringBuilder(_admin) { Database = name, Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(inside))
        {
            await connection.OpenAsync();
            foreach (var gid in await connection.QueryAsync<string>("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()"))
            {
                await connection.ExecuteAsync($"ROLLBACK PREPARED '{gid.Replace("'", "''", StringComparison.Ordinal)}'");
            }
        }

        await using var admin = new NpgsqlConnection(_admin);
        await admin.OpenAsync();
        await admin.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }
}
