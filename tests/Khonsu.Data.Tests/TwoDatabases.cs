using Khonsu.TestSupport;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Data.Tests;

/// <summary>
/// A real SQLite file (backend "ledger") and a real PostgreSQL database (backend "shop") with an
/// embedded log beside them, for one test. Verification goes around Khonsu, straight to each database.
/// </summary>
public sealed class TwoDatabases : IAsyncDisposable
{
    private TwoDatabases(TempDirectory directory, PostgresDatabase postgres)
    {
        Directory = directory;
        Postgres = postgres;
        SqlitePath = Path.Combine(directory.Path, "ledger.db");
        LogPath = Path.Combine(directory.Path, "khonsu-log.db");
    }

    public TempDirectory Directory { get; }

    public PostgresDatabase Postgres { get; }

    public string SqlitePath { get; }

    public string LogPath { get; }

    public string SqliteConnectionString => $"Data Source={SqlitePath}";

    public string ConnectionString(string extra = "")
        => $"Khonsu:Sqlite.ledger=\"{SqliteConnectionString}\";Postgres.shop=\"{Postgres.ConnectionString}\";Log=\"{LogPath}\";RecoveryInterval=0{extra}";

    /// <summary>Creates the databases with accounts (SQLite) and orders (PostgreSQL), before Khonsu first opens them.</summary>
    public static async Task<TwoDatabases> CreateAsync()
    {
        var databases = new TwoDatabases(new TempDirectory(), await PostgresDatabase.CreateAsync("khonsu_data"));
        await databases.SqliteAsync("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL); INSERT INTO accounts VALUES (1, 'ada', 100), (2, 'bob', 50);");
        await databases.PostgresAsync("CREATE TABLE orders (id integer PRIMARY KEY, account_id integer NOT NULL, amount integer NOT NULL); INSERT INTO orders VALUES (100, 1, 5);");
        return databases;
    }

    private readonly HashSet<string> _opened = [];

    public async Task<KhonsuConnection> OpenAsync(string extra = "")
    {
        lock (_opened)
        {
            _opened.Add(ConnectionString(extra));
        }

        var connection = new KhonsuConnection(ConnectionString(extra));
        await connection.OpenAsync();
        return connection;
    }

    public Task SqliteAsync(string sql) => DirectSql.SqliteAsync(SqlitePath, sql);

    public Task<object?> SqliteScalarAsync(string sql) => DirectSql.SqliteScalarAsync(SqlitePath, sql);

    public Task PostgresAsync(string sql) => DirectSql.PostgresAsync(Postgres.ConnectionString, sql);

    public Task<object?> PostgresScalarAsync(string sql) => DirectSql.PostgresScalarAsync(Postgres.ConnectionString, sql);

    /// <summary>Rows of transaction_log for one transaction, as a DBA sees them: "participant:status:decision".</summary>
    public Task<IReadOnlyList<string>> TransactionLogAsync(string transactionId) => DirectSql.TransactionLogAsync(LogPath, transactionId);

    public async ValueTask DisposeAsync()
    {
        foreach (var opened in _opened)
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(opened));
        }

        SqliteConnection.ClearAllPools();
        await Postgres.DisposeAsync();
        Directory.Dispose();
    }
}
