using Dapper;

namespace Khonsu.Data.Tests.Conformance;

/// <summary>
/// SQLite in-memory databases. A private one (<c>Data Source=:memory:</c>) is a different database
/// for each connection, while Khonsu keeps one catalog per connection string: one connection's DDL
/// used to make the other's writes fail with "no such table". Khonsu now refuses it by name, and
/// serves a shared-cache one, which every connection sees.
/// </summary>
public class SqliteInMemoryTests
{
    [Theory]
    [InlineData("Khonsu:Sqlite:Data Source=:memory:")]
    [InlineData("Khonsu:Sqlite.scratch=\"Data Source=scratch;Mode=Memory\"")]
    public async Task A_private_in_memory_database_is_refused_with_an_error_that_says_how_to_share_it(string connectionString)
    {
        await using var connection = new KhonsuConnection(connectionString);
        var error = await Assert.ThrowsAsync<KhonsuException>(() => connection.OpenAsync());
        Assert.Contains("private in-memory database", error.Message, StringComparison.Ordinal);
        Assert.Contains("Cache=Shared", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shared_cache_in_memory_database_is_one_database_for_every_connection_of_the_string()
    {
        var connectionString = $"Khonsu:Sqlite.scratch=\"Data Source=khonsu-{Guid.NewGuid():N};Mode=Memory;Cache=Shared\"";
        try
        {
            await using var first = new KhonsuConnection(connectionString);
            await using var second = new KhonsuConnection(connectionString);
            await first.OpenAsync();
            await second.OpenAsync();

            await second.ExecuteAsync("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
            await first.ExecuteAsync("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
            await second.ExecuteAsync("INSERT INTO tags (id, name) VALUES (1, 'tag')"); // after DDL on the other connection
            await second.ExecuteAsync("INSERT INTO notes (id, text) VALUES (1, 'from second')");
            await first.ExecuteAsync("UPDATE notes SET text = 'updated by first' WHERE id = 1");

            Assert.Equal("tag", await first.ExecuteScalarAsync<string>("SELECT name FROM tags WHERE id = 1"));
            Assert.Equal("updated by first", await second.ExecuteScalarAsync<string>("SELECT text FROM notes WHERE id = 1"));
        }
        finally
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
        }
    }
}
