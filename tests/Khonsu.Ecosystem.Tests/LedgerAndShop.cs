using Khonsu.Data;
using Khonsu.TestSupport;
using Microsoft.Data.Sqlite;

namespace Khonsu.Ecosystem.Tests;

/// <summary>
/// A real SQLite file (backend "ledger": accounts) and a real PostgreSQL database (backend "shop":
/// orders) with an embedded log beside them. Checks go around Khonsu, straight to each database.
/// </summary>
public sealed class LedgerAndShop : LedgerAndShopDatabases
{
    private readonly HashSet<string> _opened = [];

    private LedgerAndShop(TempDirectory directory, PostgresDatabase postgres)
        : base(directory, postgres)
    {
    }

    public static async Task<LedgerAndShop> CreateAsync()
    {
        var databases = new LedgerAndShop(new TempDirectory(), await PostgresDatabase.CreateAsync("khonsu_eco"));
        await databases.SeedAsync();
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

    /// <summary>How many distributed transactions transaction_log shows.</summary>
    public async Task<long> LoggedTransactionsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={LogPath};Mode=ReadOnly;Pooling=false");
        await connection.OpenAsync();
        await using var command = new SqliteCommand("SELECT count(DISTINCT tx_id) FROM transaction_log", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var opened in _opened)
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(opened));
        }

        await base.DisposeAsync();
    }
}
