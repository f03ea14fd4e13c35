using Khonsu.Data;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>Fresh ledger (SQLite) and shop (PostgreSQL) databases, and a context on each over one Khonsu connection.</summary>
internal sealed class LedgerAndShopContexts : IAsyncDisposable
{
    private LedgerAndShopContexts(LedgerAndShop db, KhonsuConnection khonsu, LedgerContext ledger, ShopContext shop)
        => (Db, Khonsu, Ledger, Shop) = (db, khonsu, ledger, shop);

    public LedgerAndShop Db { get; }

    public KhonsuConnection Khonsu { get; }

    public LedgerContext Ledger { get; }

    public ShopContext Shop { get; }

    public static async Task<LedgerAndShopContexts> OpenAsync()
    {
        var db = await LedgerAndShop.CreateAsync();
        var khonsu = await db.OpenAsync();
        return new LedgerAndShopContexts(db, khonsu, await Contexts.LedgerAsync(khonsu), await Contexts.ShopAsync(khonsu));
    }

    public void Deconstruct(out LedgerAndShop db, out KhonsuConnection khonsu, out LedgerContext ledger, out ShopContext shop)
        => (db, khonsu, ledger, shop) = (Db, Khonsu, Ledger, Shop);

    public async ValueTask DisposeAsync()
    {
        await Shop.DisposeAsync();
        await Ledger.DisposeAsync();
        await Khonsu.DisposeAsync();
        await Db.DisposeAsync();
    }
}
