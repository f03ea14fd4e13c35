using System.Data;
using Dapper;

namespace Khonsu.Data.Tests;

public class DataSourceTests
{
    [Fact]
    public async Task A_data_source_hands_out_connections_that_share_one_runtime()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var dataSource = KhonsuDataSource.Create(db.ConnectionString());

        await using var first = await dataSource.OpenConnectionAsync();
        await using var second = await dataSource.OpenConnectionAsync();

        Assert.Equal(ConnectionState.Open, first.State);
        Assert.Same(first.Runtime, second.Runtime);
        Assert.Equal("ada", await first.QuerySingleAsync<string>("SELECT owner FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task A_data_source_command_opens_and_closes_its_own_connection()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var dataSource = KhonsuDataSource.Create(db.ConnectionString());

        await using var command = dataSource.CreateCommand("SELECT amount FROM orders WHERE id = 100");

        Assert.Equal(5, await command.ExecuteScalarAsync());
    }

    [Fact]
    public void A_bad_connection_string_fails_when_the_data_source_is_built()
    {
        var error = Assert.Throws<KhonsuException>(() => KhonsuDataSource.Create("Khonsu:Sqlite.a=\"Data Source=a.db\";Colour=blue"));

        Assert.Contains("'Colour'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposed_data_source_refuses_new_connections()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var dataSource = KhonsuProviderFactory.Instance.CreateDataSource(db.ConnectionString());
        await dataSource.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => dataSource.CreateConnection());
    }
}
