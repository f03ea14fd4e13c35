using Khonsu.Data;
using Khonsu.EntityFrameworkCore;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>
/// Builds each backend's context on the Khonsu connection with the one-call setup; a test that
/// needs another execution strategy sets it with the provider's own call first, which UseKhonsu keeps.
/// </summary>
internal static class Contexts
{
    public static async Task<LedgerContext> LedgerAsync(KhonsuConnection khonsu, Func<ExecutionStrategyDependencies, IExecutionStrategy>? strategy = null)
    {
        var options = new DbContextOptionsBuilder<LedgerContext>();
        if (strategy is not null)
        {
            options.UseSqlite((SqliteConnection)await khonsu.GetBackendConnectionAsync("ledger"), sqlite => sqlite.ExecutionStrategy(strategy));
        }

        return new LedgerContext(options.UseKhonsu(khonsu, "ledger").Options);
    }

    public static async Task<ShopContext> ShopAsync(KhonsuConnection khonsu, Func<ExecutionStrategyDependencies, IExecutionStrategy>? strategy = null)
    {
        var options = new DbContextOptionsBuilder<ShopContext>();
        if (strategy is not null)
        {
            options.UseNpgsql((NpgsqlConnection)await khonsu.GetBackendConnectionAsync("shop"), npgsql => npgsql.ExecutionStrategy(strategy));
        }

        return new ShopContext(options.UseKhonsu(khonsu, "shop").Options);
    }
}
