using Khonsu.Data;
using Khonsu.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Khonsu.Ecosystem.Tests.Hosting;

public class HostingTests
{
    [Fact]
    public async Task A_host_resolves_the_data_source_from_DI_with_options_from_configuration_and_logs_through_its_logging()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        var connectionString = db.Track(db.ConnectionString(";Node=hosted"));
        var capture = new CapturingLoggerProvider();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Khonsu:ConnectionString"] = connectionString });
        builder.Logging.ClearProviders().AddProvider(capture).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddKhonsuDataSource(builder.Configuration.GetSection("Khonsu"));
        using var host = builder.Build();
        await host.StartAsync();

        var dataSource = host.Services.GetRequiredService<KhonsuDataSource>();
        Assert.Equal(connectionString, dataSource.ConnectionString);
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var connection = scope.ServiceProvider.GetRequiredService<KhonsuConnection>();
            await connection.OpenAsync();
            await connection.RunInTransactionAsync(async (transaction, token) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "UPDATE accounts SET balance = balance + 1 WHERE id = 2";
                await command.ExecuteNonQueryAsync(token);
            });
        }

        await host.StopAsync();
        Assert.Equal(51L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
        Assert.Contains(capture.Lines, l => l.Category == "Khonsu" && l.Level == LogLevel.Information && l.Message.Contains("node hosted", StringComparison.Ordinal));
        Assert.Contains(capture.Lines, l => l.Category == "Khonsu" && l.Level == LogLevel.Debug && l.Message.Contains("committed on 1 backend(s)", StringComparison.Ordinal));
    }
}
