using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// The EF provider of a backend, picked by the provider connection Khonsu holds for it: EF's SQLite
/// provider for a SqliteConnection, Npgsql's for an NpgsqlConnection. Provider options set by an
/// earlier UseSqlite/UseNpgsql call are kept (EF updates its extension), and so is an execution
/// strategy set there; otherwise the context gets <see cref="KhonsuExecutionStrategy"/>.
/// </summary>
internal static class BackendProviders
{
    /// <summary>Configures the provider of <paramref name="connection"/>, which belongs to the Khonsu connection (the context never closes it).</summary>
    public static void Use(DbContextOptionsBuilder builder, DbConnection connection, string backend)
    {
        var strategySet = builder.Options.Extensions.OfType<RelationalOptionsExtension>().Any(e => e.ExecutionStrategyFactory is not null);
        switch (connection)
        {
            case SqliteConnection sqlite:
                builder.UseSqlite(sqlite, o =>
                {
                    if (!strategySet)
                    {
                        o.ExecutionStrategy(d => new KhonsuExecutionStrategy(d));
                    }
                });
                break;
            case NpgsqlConnection npgsql:
                builder.UseNpgsql(npgsql, o =>
                {
                    if (!strategySet)
                    {
                        o.ExecutionStrategy(d => new KhonsuExecutionStrategy(d));
                    }
                });
                break;
            default:
                throw new NotSupportedException(
                    $"Backend '{backend}' runs on {connection.GetType().FullName}, for which UseKhonsu knows no EF provider (it knows SQLite's and Npgsql's). " +
                    "Configure that provider yourself on the connection from GetBackendConnectionAsync before calling UseKhonsu.");
        }
    }
}
