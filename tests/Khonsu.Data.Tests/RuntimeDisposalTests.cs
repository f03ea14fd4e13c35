using Khonsu.TestSupport;
using Npgsql;

namespace Khonsu.Data.Tests;

/// <summary>Closing a runtime closes what its backends own: their pools and idle connections.</summary>
public class RuntimeDisposalTests
{
    [Fact]
    public async Task Closing_a_runtime_closes_its_idle_postgres_connections()
    {
        await using var database = await PostgresDatabase.CreateAsync("khonsu_dispose");
        var application = "khonsu-dispose-" + Guid.NewGuid().ToString("N")[..12];
        var khonsu = $"Khonsu:Postgres:{database.ConnectionString};Application Name={application}";
        await using (var connection = new KhonsuConnection(khonsu))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE items (id integer PRIMARY KEY)";
            await command.ExecuteNonQueryAsync();
        }

        Assert.True(await SessionsAsync(application) > 0, "the closed connection's inner connection stays in the pool, idle");

        // Without disposing the backends' data source its idle connections stay for 300 s.
        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(khonsu));

        await Poll.UntilAsync(async () => await SessionsAsync(application) == 0, TimeSpan.FromSeconds(20), $"no session named {application} left on the server");
    }

    [Fact]
    public async Task Closing_a_runtime_closes_its_pooled_sqlite_handles()
    {
        using var directory = new TempDirectory();
        var path = directory.File("pooled.db");
        var khonsu = $"Khonsu:Sqlite:Data Source={path}";
        await using (var connection = new KhonsuConnection(khonsu))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE items (id INTEGER PRIMARY KEY)";
            await command.ExecuteNonQueryAsync();
        }

        Assert.True(OpenHandles(path) > 0, "the closed connection's inner connection stays in the pool, open");

        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(khonsu));

        Assert.Equal(0, OpenHandles(path));
    }

    private static async Task<long> SessionsAsync(string application)
    {
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = @name", admin);
        count.Parameters.AddWithValue("name", application);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>This process's open file descriptors on the database file (Linux: /proc/self/fd).</summary>
    private static int OpenHandles(string path)
        => Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget == path;
            }
            catch (IOException)
            {
                return false; // closed meanwhile
            }
        });
}
