using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Khonsu.Data.Tests;

public class DependencyInjectionTests
{
    [Fact]
    public async Task The_data_source_is_built_from_configuration_and_connections_are_scoped()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Khonsu:ConnectionString"] = db.ConnectionString() })
            .Build();
        await using var services = new ServiceCollection().AddKhonsuDataSource(configuration.GetSection("Khonsu")).BuildServiceProvider();

        var dataSource = services.GetRequiredService<KhonsuDataSource>();
        Assert.Same(dataSource, services.GetRequiredService<DbDataSource>());
        await using var scope = services.CreateAsyncScope();
        var connection = scope.ServiceProvider.GetRequiredService<KhonsuConnection>();
        Assert.Same(connection, scope.ServiceProvider.GetRequiredService<DbConnection>());

        Assert.Equal("ada", await connection.QuerySingleAsync<string>("SELECT owner FROM accounts WHERE id = 1"));
        await KhonsuConnection.ClearPoolAsync(connection);
    }

    [Fact]
    public void A_missing_connection_string_fails_with_a_message_that_says_where_to_set_it()
    {
        using var services = new ServiceCollection().AddKhonsuDataSource(new ConfigurationBuilder().Build().GetSection("Khonsu")).BuildServiceProvider();

        var error = Assert.Throws<KhonsuException>(() => services.GetRequiredService<KhonsuDataSource>());

        Assert.Contains("Khonsu:ConnectionString", error.Message, StringComparison.Ordinal);
    }
}
