using System.Text;
using Npgsql;

namespace Khonsu.TestSupport;

/// <summary>
/// A fresh, uniquely named database on the test server (<see cref="PostgresServer"/>) for one test.
/// Disposing it rolls back the transactions still prepared in it (PREPARE TRANSACTION) and drops it.
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private const int MaxPrefixLength = 30; // 30 + "_" + 32 hex digits = 63, PostgreSQL's identifier limit
    private bool _disposed;

    private PostgresDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database's name: the prefix (lower case letters, digits and '_') and a GUID.</summary>
    public string Name { get; }

    /// <summary>The test server's connection string with Database set to this database.</summary>
    public string ConnectionString { get; }

    public static async Task<PostgresDatabase> CreateAsync(string prefix)
    {
        var name = $"{Sanitize(prefix)}_{Guid.NewGuid():N}";
        await using (var admin = await OpenAdminAsync())
        {
            await ExecuteAsync(admin, $"CREATE DATABASE {Quote(name)}");
        }

        var builder = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Database = name };
        return new PostgresDatabase(name, builder.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await using var admin = await OpenAdminAsync();

        // A prepared transaction survives its session and blocks DROP DATABASE, even WITH (FORCE);
        // it can only be rolled back from a session in its own database. A session still running in the
        // database could prepare another one before the drop: then roll back again and retry.
        for (var attempt = 1; ; attempt++)
        {
            if (!await ExistsAsync(admin))
            {
                return;
            }

            await RollBackPreparedAsync();
            try
            {
                await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {Quote(Name)} WITH (FORCE)");
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 5)
            {
                await Task.Delay(100 * attempt);
            }
        }
    }

    private async Task RollBackPreparedAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false };
        await using var inside = new NpgsqlConnection(builder.ConnectionString);
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
            await ExecuteAsync(inside, $"ROLLBACK PREPARED '{gid.Replace("'", "''", StringComparison.Ordinal)}'");
        }
    }

    private async Task<bool> ExistsAsync(NpgsqlConnection admin)
    {
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", admin);
        exists.Parameters.AddWithValue("name", Name);
        return await exists.ExecuteScalarAsync() is not null;
    }

    private static async Task<NpgsqlConnection> OpenAdminAsync()
    {
        var admin = new NpgsqlConnection(PostgresServer.ConnectionString);
        await admin.OpenAsync();
        return admin;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Sanitize(string prefix)
    {
        var builder = new StringBuilder(Math.Min(prefix.Length, MaxPrefixLength));
        foreach (var c in prefix.ToLowerInvariant())
        {
            if (builder.Length == MaxPrefixLength)
            {
                break;
            }

            builder.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? c : '_');
        }

        return builder.Length == 0 ? "khonsu" : builder.ToString();
    }
}
