using Khonsu.Data;
using Khonsu.TestSupport;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// A real SQLite file (backend "ledger": accounts), a real PostgreSQL database (backend "shop":
/// orders) and a Kafka log on a mock cluster of its own, for one test. Checks go straight to each database.
/// </summary>
internal sealed class KafkaDatabases : IAsyncDisposable
{
    public const int Accounts = 3;
    public const int StartBalance = 1000;

    private readonly TempDirectory _directory;
    private readonly HashSet<string> _opened = [];

    private KafkaDatabases(TempDirectory directory, PostgresDatabase postgres, KafkaMockCluster cluster, string log)
    {
        _directory = directory;
        Postgres = postgres;
        Cluster = cluster;
        Log = log;
        SqlitePath = Path.Combine(directory.Path, "ledger.db");
    }

    public PostgresDatabase Postgres { get; }

    public KafkaMockCluster Cluster { get; }

    /// <summary>The log's kafka:// address.</summary>
    public string Log { get; }

    public string SqlitePath { get; }

    public string ConnectionString(string extra = "")
        => $"Khonsu:Sqlite.ledger=\"Data Source={SqlitePath}\";Postgres.shop=\"{Postgres.ConnectionString}\";Log={Log};RecoveryInterval=0;Kafka.message.timeout.ms=2000{extra}";

    public static async Task<KafkaDatabases> CreateAsync()
    {
        var cluster = await KafkaMockCluster.StartAsync();
        var databases = new KafkaDatabases(new TempDirectory(), await PostgresDatabase.CreateAsync("khonsu_kafka"), cluster, await cluster.CreateLogAsync());
        var rows = string.Join(", ", Enumerable.Range(1, Accounts).Select(i => $"({i}, {StartBalance})"));
        await using (var sqlite = new SqliteConnection($"Data Source={databases.SqlitePath}"))
        {
            await sqlite.OpenAsync();
            await using var command = new SqliteCommand($"CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); INSERT INTO accounts VALUES {rows};", sqlite);
            await command.ExecuteNonQueryAsync();
        }

        await databases.PostgresScalarAsync("CREATE TABLE orders (id integer PRIMARY KEY, account_id integer NOT NULL, amount integer NOT NULL)");
        return databases;
    }

    public async Task<KhonsuConnection> OpenAsync(string extra = "")
    {
        _opened.Add(ConnectionString(extra));
        var connection = new KhonsuConnection(ConnectionString(extra));
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Opens once so that Khonsu installs its schema, then lets the runtime go (so child processes start clean).</summary>
    public async Task InstallAsync(string extra = "")
    {
        await using (var install = await OpenAsync(extra))
        {
        }

        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(ConnectionString(extra)));
    }

    public async Task<long> SqliteScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={SqlitePath}");
        await connection.OpenAsync();
        await using var command = new SqliteCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<object?> PostgresScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public async Task<List<(int Id, int Account, int Amount)>> OrdersAsync()
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, account_id, amount FROM orders ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var orders = new List<(int, int, int)>();
        while (await reader.ReadAsync())
        {
            orders.Add((reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2)));
        }

        return orders;
    }

    /// <summary>No lost update: every account lost exactly the amounts of its order rows.</summary>
    public async Task AssertBalancesMatchOrdersAsync()
    {
        var orders = await OrdersAsync();
        for (var account = 1; account <= Accounts; account++)
        {
            var balance = await SqliteScalarAsync($"SELECT balance FROM accounts WHERE id = {account}");
            Assert.Equal(StartBalance - orders.Where(o => o.Account == account).Sum(o => o.Amount), balance);
        }

        Assert.Equal(0L, await PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var opened in _opened)
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(opened));
        }

        SqliteConnection.ClearAllPools();
        await Postgres.DisposeAsync();
        await Cluster.DisposeAsync();
        _directory.Dispose();
    }
}
