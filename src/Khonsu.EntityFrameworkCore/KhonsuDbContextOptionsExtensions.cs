using System.Data;
using System.Data.Common;
using Khonsu.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// EF Core over Khonsu: one DbContext per backend, each on that backend's real provider connection
/// (so EF's SQLite and Npgsql providers get the connection types they expect), with interceptors
/// that put every command into the Khonsu transaction in progress on the <see cref="KhonsuConnection"/>.
/// </summary>
public static class KhonsuDbContextOptionsExtensions
{
    /// <summary>
    /// The provider connection (a SqliteConnection, an NpgsqlConnection) that this Khonsu connection
    /// uses for <paramref name="backend"/>, opened on first use (while the connection is enlisted in a
    /// TransactionScope: the one the scope's Khonsu transaction runs on). It belongs to the Khonsu
    /// connection: do not close it yourself.
    /// </summary>
    public static async ValueTask<DbConnection> GetBackendConnectionAsync(this KhonsuConnection connection, string backend, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return await new KhonsuBackendBinding(connection, backend).ProviderConnectionAsync(async: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets the context up on backend <paramref name="backend"/> of an open Khonsu connection, in one
    /// call: the backend's EF provider (UseSqlite or UseNpgsql) on the provider connection the Khonsu
    /// connection holds for it, <see cref="KhonsuExecutionStrategy"/> (unless a strategy is set
    /// already), and Khonsu's interceptors. Every context on the same Khonsu connection shares its
    /// transactions: <c>context.Database.BeginTransaction()</c> begins, or joins, the Khonsu
    /// transaction of the connection, and queries and SaveChanges run in it; outside one, each
    /// SaveChanges runs in a Khonsu transaction of its own. To set provider options, call
    /// UseSqlite/UseNpgsql with <see cref="GetBackendConnectionAsync"/>'s connection before this:
    /// they are kept.
    /// </summary>
    /// <param name="builder">The context's options.</param>
    /// <param name="connection">An open Khonsu connection; it must outlive the context.</param>
    /// <param name="backend">The backend's name in the connection string (<c>Sqlite.ledger=...</c>: "ledger").</param>
    public static DbContextOptionsBuilder UseKhonsu(this DbContextOptionsBuilder builder, KhonsuConnection connection, string backend)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrWhiteSpace(backend);
        if (connection.State != ConnectionState.Open)
        {
            throw new InvalidOperationException(
                "UseKhonsu needs an open KhonsuConnection: open it first, or call UseKhonsu(dataSource, backend), which opens one for the context.");
        }

        var binding = new KhonsuBackendBinding(connection, backend);
        return UseKhonsu(builder, binding, ownsConnection: false);
    }

    /// <inheritdoc cref="UseKhonsu(DbContextOptionsBuilder, KhonsuConnection, string)"/>
    public static DbContextOptionsBuilder<TContext> UseKhonsu<TContext>(this DbContextOptionsBuilder<TContext> builder, KhonsuConnection connection, string backend)
        where TContext : DbContext
        => (DbContextOptionsBuilder<TContext>)UseKhonsu((DbContextOptionsBuilder)builder, connection, backend);

    /// <summary>
    /// Sets the context up on backend <paramref name="backend"/> with a Khonsu connection of its own,
    /// opened now from <paramref name="dataSource"/> and closed when the context is disposed, as
    /// <c>UseNpgsql(dataSource)</c> gives a context its own connection. Opened inside a
    /// TransactionScope, it enlists in it, so contexts made this way inside one scope commit or roll
    /// back together; outside a scope, each context's transactions are its own (to share one
    /// between contexts, build them on one connection with the overload that takes it). Build these
    /// options once per context (in OnConfiguring, or per scope as AddDbContext does), since they
    /// hold the connection: not for options shared by several contexts, nor for DbContext pooling.
    /// Otherwise as <see cref="UseKhonsu(DbContextOptionsBuilder, KhonsuConnection, string)"/>.
    /// </summary>
    /// <param name="builder">The context's options.</param>
    /// <param name="dataSource">The data source whose connection string names the backend.</param>
    /// <param name="backend">The backend's name in the connection string (<c>Postgres.shop=...</c>: "shop").</param>
    public static DbContextOptionsBuilder UseKhonsu(this DbContextOptionsBuilder builder, KhonsuDataSource dataSource, string backend)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentException.ThrowIfNullOrWhiteSpace(backend);
        var connection = dataSource.OpenConnection();
        try
        {
            return UseKhonsu(builder, new KhonsuBackendBinding(connection, backend), ownsConnection: true);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <inheritdoc cref="UseKhonsu(DbContextOptionsBuilder, KhonsuDataSource, string)"/>
    public static DbContextOptionsBuilder<TContext> UseKhonsu<TContext>(this DbContextOptionsBuilder<TContext> builder, KhonsuDataSource dataSource, string backend)
        where TContext : DbContext
        => (DbContextOptionsBuilder<TContext>)UseKhonsu((DbContextOptionsBuilder)builder, dataSource, backend);

    private static DbContextOptionsBuilder UseKhonsu(DbContextOptionsBuilder builder, KhonsuBackendBinding binding, bool ownsConnection)
    {
        var providerConnection = binding.ProviderConnectionAsync(async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        BackendProviders.Use(builder, providerConnection, binding.Backend.Name);
        if (ownsConnection)
        {
            ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(new OwnedConnectionExtension(binding.Connection));
        }

        return builder
            .ReplaceService<IRelationalTransactionFactory, KhonsuRelationalTransactionFactory>()
            // EF's SQLite provider says it has no TransactionScope support (and throws by default); through
            // Khonsu it has: the Khonsu connection enlists in the scope, and the context runs in its transaction.
            .ConfigureWarnings(warnings => warnings.Ignore(RelationalEventId.AmbientTransactionWarning))
            .AddInterceptors(
                new KhonsuCommandInterceptor(binding),
                new KhonsuSaveChangesInterceptor(binding),
                new KhonsuTransactionInterceptor(binding));
    }
}
