using Khonsu.Checker.History;
using Khonsu.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Checker.Workload;

/// <summary>
/// The run's own databases: a SQLite file and the embedded log in a fresh directory, and a fresh
/// PostgreSQL database on the given server; the registers and audit tables in both; Khonsu's
/// schema installed. Disposing drops the PostgreSQL database and deletes the directory.
/// </summary>
internal sealed class RunDatabases : IAsyncDisposable
{
    private readonly string _server;

    private readonly string _extraSettings;

    private RunDatabases(string server, string directory, string database, Keyspace keys, string extraSettings)
    {
        _server = server;
        _extraSettings = extraSettings.Length == 0 || extraSettings.StartsWith(';') ? extraSettings : ";" + extraSettings;
        Directory = directory;
        Keys = keys;
        SqlitePath = Path.Combine(directory, "ledger.db");
        LogPath = Path.Combine(directory, "khonsu-log.db");
        DatabaseName = database;
        PostgresConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = database, Pooling = true, MaxPoolSize = 50 }.ConnectionString;
    }

    public string Directory { get; }

    public Keyspace Keys { get; }

    public string SqlitePath { get; }

    public string LogPath { get; }

    public string DatabaseName { get; }

    public string PostgresConnectionString { get; }

    public string SqliteConnectionString => $"Data Source={SqlitePath}";

    /// <summary>For the runner's own reads: unpooled, so a session the nemesis terminated is never reused.</summary>
    private string UnpooledPostgres => new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Pooling = false }.ConnectionString;

    /// <summary>The Khonsu connection string of the run: short prepare lease and frequent recovery, so faults heal within the run.</summary>
    public string KhonsuConnectionString
        => $"Khonsu:Sqlite.{Keyspace.SqliteBackend}=\"{SqliteConnectionString}\";Postgres.{Keyspace.PostgresBackend}=\"{PostgresConnectionString}\";Log=\"{LogPath}\";PrepareLease=1;RecoveryInterval=1{_extraSettings}";

    public static async Task<RunDatabases> CreateAsync(string server, Keyspace keys, string extraSettings, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "khonsu-checker", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var name = "khonsu_checker_" + Guid.NewGuid().ToString("N");
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync(cancellationToken);
            await Execute(admin, $"CREATE DATABASE \"{name}\"", cancellationToken);
        }

        var databases = new RunDatabases(server, directory, name, keys, extraSettings);
        var rows = string.Join(", ", Enumerable.Range(1, keys.PerBackend).Select(i => $"({i}, 0)"));
        await using (var sqlite = new SqliteConnection(databases.SqliteConnectionString))
        {
            await sqlite.OpenAsync(cancellationToken);
            await using var command = sqlite.CreateCommand();
            command.CommandText =
                "PRAGMA journal_mode = WAL;" +
                "CREATE TABLE sregs (id INTEGER PRIMARY KEY, val INTEGER NOT NULL);" +
                "CREATE TABLE saudit (id TEXT PRIMARY KEY, tx TEXT NOT NULL, k TEXT NOT NULL, val INTEGER NOT NULL, ver INTEGER NOT NULL);" +
                $"INSERT INTO sregs (id, val) VALUES {rows};";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var postgres = new NpgsqlConnection(databases.PostgresConnectionString))
        {
            await postgres.OpenAsync(cancellationToken);
            await Execute(
                postgres,
                "CREATE TABLE pregs (id bigint PRIMARY KEY, val bigint NOT NULL);" +
                "CREATE TABLE paudit (id text PRIMARY KEY, tx text NOT NULL, k text NOT NULL, val bigint NOT NULL, ver bigint NOT NULL);" +
                $"INSERT INTO pregs (id, val) VALUES {rows};",
                cancellationToken);
        }

        SqliteConnection.ClearAllPools();
        await using (var khonsu = new KhonsuConnection(databases.KhonsuConnectionString))
        {
            await khonsu.OpenAsync(cancellationToken); // installs version columns, triggers and Khonsu's tables
        }

        return databases;
    }

    /// <summary>The registers as they are now, read around Khonsu.</summary>
    public async Task<IReadOnlyList<RegisterState>> ReadRegistersAsync(CancellationToken cancellationToken)
    {
        var result = new List<RegisterState>();
        await using (var sqlite = new SqliteConnection(SqliteConnectionString))
        {
            await sqlite.OpenAsync(cancellationToken);
            await using var command = sqlite.CreateCommand();
            command.CommandText = "SELECT id, val, version FROM sregs ORDER BY id";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                result.Add(new RegisterState(Keyspace.Key(Keyspace.SqliteBackend, reader.GetInt64(0)), Keyspace.SqliteBackend, reader.GetInt64(1), Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        await using (var postgres = new NpgsqlConnection(UnpooledPostgres))
        {
            await postgres.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT id, val, version FROM pregs ORDER BY id", postgres);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                result.Add(new RegisterState(Keyspace.Key(Keyspace.PostgresBackend, reader.GetInt64(0)), Keyspace.PostgresBackend, reader.GetInt64(1), Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        return result;
    }

    /// <summary>Every audit row: the committed writes, with the version each installed.</summary>
    public async Task<IReadOnlyList<InstalledWrite>> ReadInstalledAsync(CancellationToken cancellationToken)
    {
        var result = new List<InstalledWrite>();
        await using (var sqlite = new SqliteConnection(SqliteConnectionString))
        {
            await sqlite.OpenAsync(cancellationToken);
            await using var command = sqlite.CreateCommand();
            command.CommandText = "SELECT tx, k, val, ver FROM saudit";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                result.Add(new InstalledWrite(reader.GetString(0), reader.GetString(1), Keyspace.SqliteBackend, reader.GetInt64(2), reader.GetInt64(3)));
            }
        }

        await using (var postgres = new NpgsqlConnection(UnpooledPostgres))
        {
            await postgres.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT tx, k, val, ver FROM paudit", postgres);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                result.Add(new InstalledWrite(reader.GetString(0), reader.GetString(1), Keyspace.PostgresBackend, reader.GetInt64(2), reader.GetInt64(3)));
            }
        }

        return result;
    }

    /// <summary>Transactions still prepared in PostgreSQL (undecided, or decided but not finished).</summary>
    public async Task<long> PreparedCountAsync(CancellationToken cancellationToken)
    {
        await using var postgres = new NpgsqlConnection(UnpooledPostgres);
        await postgres.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()", postgres);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async ValueTask DisposeAsync()
    {
        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(KhonsuConnectionString));
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using (var inside = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Pooling = false }.ConnectionString))
            {
                await inside.OpenAsync();
                var gids = new List<string>();
                await using (var list = new NpgsqlCommand("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()", inside))
                await using (var reader = await list.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        gids.Add(reader.GetString(0));
                    }
                }

                foreach (var gid in gids)
                {
                    await Execute(inside, $"ROLLBACK PREPARED '{gid.Replace("'", "''", StringComparison.Ordinal)}'", CancellationToken.None);
                }
            }

            await using var admin = new NpgsqlConnection(_server);
            await admin.OpenAsync();
            await Execute(admin, $"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // Leave the database behind rather than hide the run's verdict.
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open elsewhere: it stays under the temp directory.
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
