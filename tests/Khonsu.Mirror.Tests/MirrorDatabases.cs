using Khonsu.Data;
using Khonsu.TestSupport;

namespace Khonsu.Mirror.Tests;

/// <summary>
/// A real SQLite file (backend "ledger": accounts) and a real PostgreSQL database (backend "shop":
/// wallets, and orders, which no mirror follows) with an embedded log, and a DuckDB mirror file
/// beside them. Money moves between accounts and wallets; the total never changes.
/// </summary>
public sealed class MirrorDatabases : LedgerAndShopDatabases
{
    public const long Total = 100 + 50 + 1000 + 1000;

    private readonly HashSet<string> _opened = [];

    private MirrorDatabases(TempDirectory directory, PostgresDatabase postgres)
        : base(directory, postgres)
    {
        MirrorPath = directory.File("mirror.duckdb");
    }

    public string MirrorPath { get; }

    /// <summary>The application's connection string: accounts and wallets followed, orders not.</summary>
    public string Followed => ConnectionString(";Follow.ledger=accounts;Follow.shop=wallets");

    public static async Task<MirrorDatabases> CreateAsync()
    {
        var databases = new MirrorDatabases(new TempDirectory(), await PostgresDatabase.CreateAsync("khonsu_mirror"));
        await databases.SeedAsync();
        await databases.PostgresAsync("CREATE TABLE wallets (id integer PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL, score double precision, active boolean NOT NULL DEFAULT true); INSERT INTO wallets (id, owner, balance) VALUES (1, 'cy', 1000), (2, 'di', 1000);");
        return databases;
    }

    public async Task<KhonsuConnection> OpenAsync(string? connectionString = null)
    {
        connectionString ??= Followed;
        lock (_opened)
        {
            _opened.Add(connectionString);
        }

        var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Moves <paramref name="amount"/> from ledger account <paramref name="account"/> to shop wallet <paramref name="wallet"/> in one Khonsu transaction.</summary>
    public static async Task TransferAsync(KhonsuConnection connection, long account, long wallet, long amount)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, transaction, "UPDATE accounts SET balance = balance - @amount WHERE id = @id", ("amount", amount), ("id", account));
        await ExecuteAsync(connection, transaction, "UPDATE wallets SET balance = balance + @amount WHERE id = @id", ("amount", amount), ("id", wallet));
        await transaction.CommitAsync();
    }

    public static async Task ExecuteAsync(KhonsuConnection connection, System.Data.Common.DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = (KhonsuTransaction?)transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Balances by "backend/id", straight from the sources (writers stopped).</summary>
    public async Task<SortedDictionary<string, long>> SourceBalancesAsync()
    {
        var balances = new SortedDictionary<string, long>(StringComparer.Ordinal);
        await using (var sqlite = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={SqlitePath};Pooling=false"))
        {
            await sqlite.OpenAsync();
            await using var command = new Microsoft.Data.Sqlite.SqliteCommand("SELECT id, balance FROM accounts", sqlite);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                balances["ledger/" + reader.GetInt64(0)] = reader.GetInt64(1);
            }
        }

        await using (var postgres = new Npgsql.NpgsqlConnection(Postgres.ConnectionString))
        {
            await postgres.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("SELECT id, balance FROM wallets", postgres);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                balances["shop/" + reader.GetInt32(0)] = reader.GetInt64(1);
            }
        }

        return balances;
    }

    /// <summary>Closes the runtimes opened so far: the embedded log is free for another process (or a direct look).</summary>
    public async Task ClearPoolsAsync()
    {
        foreach (var opened in _opened)
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(opened));
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await ClearPoolsAsync();
        await base.DisposeAsync();
    }
}
