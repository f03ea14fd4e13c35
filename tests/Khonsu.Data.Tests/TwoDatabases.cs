using Khonsu.TestSupport;

namespace Khonsu.Data.Tests;

/// <summary>
/// The ledger (SQLite) and shop (PostgreSQL) databases of one test, and the Khonsu connections
/// opened on them, whose shared runtimes are closed at the end.
/// </summary>
public sealed class TwoDatabases : LedgerAndShopDatabases
{
    private readonly HashSet<string> _opened = [];

    private TwoDatabases(TempDirectory directory, PostgresDatabase postgres)
        : base(directory, postgres)
    {
    }

    /// <summary>Creates the databases with accounts (SQLite) and orders (PostgreSQL), before Khonsu first opens them.</summary>
    public static async Task<TwoDatabases> CreateAsync()
    {
        var databases = new TwoDatabases(new TempDirectory(), await PostgresDatabase.CreateAsync("khonsu_data"));
        await databases.SeedAsync();
        return databases;
    }

    public Task<KhonsuConnection> OpenAsync(string extra = "") => OpenConnectionAsync(ConnectionString(extra));

    /// <summary>As <see cref="OpenAsync"/> with shop named first: where a statement naming no known relation goes.</summary>
    public Task<KhonsuConnection> OpenShopFirstAsync()
        => OpenConnectionAsync($"Khonsu:Postgres.shop=\"{Postgres.ConnectionString}\";Sqlite.ledger=\"{SqliteConnectionString}\";Log=\"{LogPath}\";RecoveryInterval=0");

    private async Task<KhonsuConnection> OpenConnectionAsync(string connectionString)
    {
        lock (_opened)
        {
            _opened.Add(connectionString);
        }

        var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync();
        return connection;
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
