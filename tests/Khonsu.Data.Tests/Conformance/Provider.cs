using System.Data.Common;
using Khonsu.TestSupport;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Data.Tests.Conformance;

/// <summary>
/// One provider a conformance case runs against: raw Microsoft.Data.Sqlite, raw Npgsql, or Khonsu
/// over either, each on a database of its own. A case runs on all four, so that where Khonsu
/// behaves differently from the provider under it the test says so (and docs/limits.md says why).
/// </summary>
public sealed class Provider : IAsyncDisposable
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string KhonsuSqlite = "khonsu-sqlite";
    public const string KhonsuPostgres = "khonsu-postgres";

    private readonly TempDirectory _directory;
    private readonly PostgresDatabase? _postgres;

    private Provider(string name, TempDirectory directory, PostgresDatabase? postgres, DbProviderFactory factory, string connectionString, string invalidConnectionString)
    {
        Name = name;
        _directory = directory;
        _postgres = postgres;
        Factory = factory;
        ConnectionString = connectionString;
        InvalidConnectionString = invalidConnectionString;
    }

    public static TheoryData<string> All => [Sqlite, Postgres, KhonsuSqlite, KhonsuPostgres];

    public static TheoryData<string> OnPostgres => [Postgres, KhonsuPostgres];

    public static TheoryData<string> OnSqlite => [Sqlite, KhonsuSqlite];

    public string Name { get; }

    public bool IsKhonsu => Name.StartsWith("khonsu", StringComparison.Ordinal);

    public bool IsPostgres => Name.EndsWith("postgres", StringComparison.Ordinal);

    public DbProviderFactory Factory { get; }

    public string ConnectionString { get; }

    /// <summary>A connection string with a key the provider does not know.</summary>
    public string InvalidConnectionString { get; }

    /// <summary>The raw provider under this one (itself for a raw provider).</summary>
    public string Raw => IsPostgres ? Postgres : Sqlite;

    public static async Task<Provider> CreateAsync(string name)
    {
        var directory = new TempDirectory();
        var sqlite = $"Data Source={directory.File("conformance.db")}";
        var log = directory.File("khonsu-log.db");
        switch (name)
        {
            case Sqlite:
                return new Provider(name, directory, null, SqliteFactory.Instance, sqlite, "Data Source=x.db;No Such Key=1");
            case KhonsuSqlite:
                return new Provider(name, directory, null, KhonsuProviderFactory.Instance, $"Khonsu:Sqlite.main=\"{sqlite}\";Log=\"{log}\";RecoveryInterval=0", $"Khonsu:Sqlite.main=\"{sqlite}\";No Such Key=1");
            case Postgres:
            case KhonsuPostgres:
                var database = await PostgresDatabase.CreateAsync("conformance");
                return name == Postgres
                    ? new Provider(name, directory, database, NpgsqlFactory.Instance, database.ConnectionString, "Host=localhost;No Such Key=1")
                    : new Provider(name, directory, database, KhonsuProviderFactory.Instance, $"Khonsu:Postgres.main=\"{database.ConnectionString}\";Log=\"{log}\";RecoveryInterval=0", $"Khonsu:Postgres.main=\"{database.ConnectionString}\";No Such Key=1");
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "no such provider");
        }
    }

    public DbConnection CreateConnection()
    {
        var connection = Factory.CreateConnection()!;
        connection.ConnectionString = ConnectionString;
        return connection;
    }

    public async Task<DbConnection> OpenConnectionAsync()
    {
        var connection = CreateConnection();
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Runs <paramref name="sql"/> on a connection of this provider.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (IsKhonsu)
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(ConnectionString));
        }

        SqliteConnection.ClearAllPools();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        _directory.Dispose();
    }
}
