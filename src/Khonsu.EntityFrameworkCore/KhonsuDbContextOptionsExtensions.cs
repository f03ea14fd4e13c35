using System.Data.Common;
using Khonsu.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
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
    /// uses for <paramref name="backend"/>, opened on first use. It belongs to the Khonsu connection:
    /// pass it to UseSqlite/UseNpgsql and do not close it yourself.
    /// </summary>
    public static async ValueTask<DbConnection> GetBackendConnectionAsync(this KhonsuConnection connection, string backend, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var binding = new KhonsuBackendBinding(connection, backend);
        return await binding.ExecutionConnection.GetInnerConnectionAsync(binding.Backend, async: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Joins the context's commands to <paramref name="connection"/>'s Khonsu transactions. Call
    /// after UseSqlite/UseNpgsql with the connection from <see cref="GetBackendConnectionAsync"/>.
    /// Inside a Khonsu transaction, queries and SaveChanges run in it; outside one, each SaveChanges
    /// runs in a Khonsu transaction of its own, under the context's execution strategy.
    /// Beginning a transaction through EF (Database.BeginTransaction) is refused: begin it on the
    /// Khonsu connection, which is what makes it atomic across backends.
    /// </summary>
    public static DbContextOptionsBuilder UseKhonsu(this DbContextOptionsBuilder builder, KhonsuConnection connection, string backend)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrWhiteSpace(backend);
        var binding = new KhonsuBackendBinding(connection, backend);
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

    /// <inheritdoc cref="UseKhonsu(DbContextOptionsBuilder, KhonsuConnection, string)"/>
    public static DbContextOptionsBuilder<TContext> UseKhonsu<TContext>(this DbContextOptionsBuilder<TContext> builder, KhonsuConnection connection, string backend)
        where TContext : DbContext
        => (DbContextOptionsBuilder<TContext>)UseKhonsu((DbContextOptionsBuilder)builder, connection, backend);
}
