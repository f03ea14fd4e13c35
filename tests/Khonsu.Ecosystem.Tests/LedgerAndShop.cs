using Khonsu.Data;
using Khonsu.TestSupport;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Ecosystem.Tests;

/// <summary>
/// A real SQLite file (backend "ledger": accounts) and a real PostgreSQL database (backend "shop":
/// orders) with an embedded log beside them. Checks go around Khonsu, straight to each database.
/// </summary>
public sealed class LedgerAndShop : IAsyncDisposable
{
    private readonly HashSet<string> _opened = [];

    private LedgerAndShop(TempDirectory directory, PostgresDatabase postgres)
    {
        Directory = directory;
        Postgres = postgres;
        SqlitePath = directory.File("ledger.db");
        LogPath = directory.File("khonsu-log.db");
    }

    public TempDirectory Directory { get; }

    public PostgresDatabase Postgres { get; }

    public string SqlitePath { get; }

    public string LogPath { get; }

    public string SqliteConnectionString => $"Data Source={SqlitePath}";

    public string ConnectionString(string extra = "")
        => $"Khonsu:Sqlite.ledger=\"{SqliteConnectionString}\";Postgres.shop=\"{Postgres.ConnectionString}\";Log=\"{LogPath}\";RecoveryInterval=0{extra}";

    public static async Task<LedgerAndShop> CreateAsync()
    {
        var databases = new LedgerAndShop(new TempDirectory(), await PostgresDatabase.CreateAsync("khonsu_eco"));
        await databases.SqliteAsync("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL); INSERT INTO accounts VALUES (1, 'ada', 100), (2, 'bob', 50);");
        await databases.PostgresAsync("CREATE TABLE orders (id integer PRIMARY KEY, account_id integer NOT NULL, amount integer NOT NULL); INSERT INTO orders VALUES (100, 1, 5);");
        return databases;
    }

    /// <summary>Remembers a connection string whose shared runtime must be closed at the end.</summary>
    public string Track(string connectionString)
    {
        lock (_opened)
        {
            _opened.Add(connectionString);
        }

        return connectionString;
    }

    public async Task<KhonsuConnection> OpenAsync(string extra = "")
    {
        var connection = new KhonsuConnection(Track(ConnectionString(extra)));
        await connection.OpenAsync();
        return connection;
    }

    public Task SqliteAsync(string sql) => DirectSql.SqliteAsync(SqlitePath, sql);

    public Task<object?> SqliteScalarAsync(string sql) => DirectSql.SqliteScalarAsync(SqlitePath, sql);

    public Task PostgresAsync(string sql) => DirectSql.PostgresAsync(Postgres.ConnectionString, sql);

    public Task<object?> PostgresScalarAsync(string sql) => DirectSql.PostgresScalarAsync(Postgres.ConnectionString, sql);

    /// <summary>How many distributed transactions transaction_log shows.</summary>
    public async Task<long> LoggedTransactionsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={LogPath};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync();
        await using var command = new SqliteCommand("SELECT count(DISTINCT tx_id) FROM transaction_log", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

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
