using Khonsu.Data;
using Khonsu.EntityFrameworkCore;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>Builds each backend's context on the provider connection the Khonsu connection owns.</summary>
internal static class Contexts
{
    public static async Task<LedgerContext> LedgerAsync(KhonsuConnection khonsu, Func<ExecutionStrategyDependencies, IExecutionStrategy>? strategy = null)
    {
        var connection = (SqliteConnection)await khonsu.GetBackendConnectionAsync("ledger");
        var options = new DbContextOptionsBuilder<LedgerContext>()
            .UseSqlite(connection, sqlite => sqlite.ExecutionStrategy(strategy ?? (d => new KhonsuExecutionStrategy(d))))
            .UseKhonsu(khonsu, "ledger")
            .Options;
        return new LedgerContext(options);
    }

    public static async Task<ShopContext> ShopAsync(KhonsuConnection khonsu, Func<ExecutionStrategyDependencies, IExecutionStrategy>? strategy = null)
    {
        var connection = (NpgsqlConnection)await khonsu.GetBackendConnectionAsync("shop");
        var options = new DbContextOptionsBuilder<ShopContext>()
            .UseNpgsql(connection, npgsql => npgsql.ExecutionStrategy(strategy ?? (d => new KhonsuExecutionStrategy(d))))
            .UseKhonsu(khonsu, "shop")
            .Options;
        return new ShopContext(options);
    }
}
