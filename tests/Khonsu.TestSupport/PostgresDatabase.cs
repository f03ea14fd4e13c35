using Npgsql;

namespace Khonsu.TestSupport;

/// <summary>A fresh database on the test server for one test, dropped afterwards with anything left prepared in it.</summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private PostgresDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public static async Task<PostgresDatabase> CreateAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        await using (var admin = new NpgsqlConnection(PostgresServer.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Database = name };
        return new PostgresDatabase(name, builder.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using (var inside = new NpgsqlConnection(ConnectionString))
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
                await using var rollback = new NpgsqlCommand($"ROLLBACK PREPARED '{gid.Replace("'", "''", StringComparison.Ordinal)}'", inside);
                await rollback.ExecuteNonQueryAsync();
            }
        }

        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(PostgresServer.ConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}
