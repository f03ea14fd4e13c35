using System.Data.Common;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Khonsu.Data;

/// <summary>
/// Registers a <see cref="KhonsuDataSource"/> (also as <see cref="DbDataSource"/>) as a singleton,
/// and <see cref="KhonsuConnection"/> (also as <see cref="DbConnection"/>) per scope, as
/// AddNpgsqlDataSource does for Npgsql.
/// </summary>
public static class KhonsuServiceCollectionExtensions
{
    /// <summary>Registers Khonsu with a connection string.</summary>
    public static IServiceCollection AddKhonsuDataSource(this IServiceCollection services, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return services.AddKhonsuDataSource(options => options.ConnectionString = connectionString);
    }

    /// <summary>Registers Khonsu with its settings bound from a configuration section (e.g. <c>configuration.GetSection("Khonsu")</c>).</summary>
    public static IServiceCollection AddKhonsuDataSource(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddOptions<KhonsuOptions>().Bind(section);
        return services.AddKhonsuCore();
    }

    /// <summary>Registers Khonsu with settings set in code.</summary>
    public static IServiceCollection AddKhonsuDataSource(this IServiceCollection services, Action<KhonsuOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<KhonsuOptions>().Configure(configure);
        return services.AddKhonsuCore();
    }

    private static IServiceCollection AddKhonsuCore(this IServiceCollection services)
    {
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<KhonsuOptions>>().Value;
            return KhonsuDataSource.Create(
                options.ConnectionString
                    ?? throw new KhonsuException("Khonsu is registered without a connection string: set Khonsu:ConnectionString in configuration or pass one to AddKhonsuDataSource."),
                provider.GetService<ILoggerFactory>());
        });
        services.TryAddSingleton<DbDataSource>(provider => provider.GetRequiredService<KhonsuDataSource>());
        services.TryAddScoped(provider => provider.GetRequiredService<KhonsuDataSource>().CreateConnection());
        services.TryAddScoped<DbConnection>(provider => provider.GetRequiredService<KhonsuConnection>());
        return services;
    }
}
