using System.Data;
using Khonsu.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// AddDbContext for a context on a Khonsu backend: with Khonsu registered
/// (<c>services.AddKhonsuDataSource(...)</c>, which gives each DI scope one KhonsuConnection), every
/// context registered this way runs on the scope's connection, so the contexts of one scope (one
/// web request) share its transactions: <c>ledger.Database.BeginTransaction()</c> covers the shop
/// context's SaveChanges too, across both databases.
/// </summary>
public static class KhonsuDbContextServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TContext"/> (scoped, as AddDbContext does) on backend
    /// <paramref name="backend"/> of the scope's KhonsuConnection, which is opened when the first
    /// context of the scope is created (inside a TransactionScope, it enlists in it) and disposed
    /// with the scope; see <see cref="KhonsuDbContextOptionsExtensions.UseKhonsu(DbContextOptionsBuilder, KhonsuConnection, string)"/>.
    /// </summary>
    /// <param name="services">The application's services, with Khonsu registered.</param>
    /// <param name="backend">The backend's name in the connection string (<c>Postgres.shop=...</c>: "shop").</param>
    /// <param name="configure">Further options of the context (logging, provider options set before UseKhonsu's are kept), if any.</param>
    public static IServiceCollection AddKhonsuDbContext<TContext>(this IServiceCollection services, string backend, Action<DbContextOptionsBuilder>? configure = null)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(backend);
        return services.AddDbContext<TContext>((provider, options) =>
        {
            var connection = provider.GetService<KhonsuConnection>()
                ?? throw new InvalidOperationException(
                    $"AddKhonsuDbContext<{typeof(TContext).Name}> needs Khonsu registered first: call services.AddKhonsuDataSource(...) (package Khonsu.Data.DependencyInjection).");
            if (connection.State == ConnectionState.Closed)
            {
                connection.Open();
            }

            configure?.Invoke(options);
            options.UseKhonsu(connection, backend);
        });
    }
}
