using System.Transactions;
using Microsoft.EntityFrameworkCore;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>
/// EF's TransactionScope support through Khonsu's ambient enlistment: the KhonsuConnection opened
/// inside the scope enlists in it, and contexts built on it run on the connection the scope's Khonsu
/// transaction runs on, so SaveChanges of a SQLite context and a PostgreSQL context commit together
/// when the scope completes, and neither when it does not.
/// </summary>
public class EntityFrameworkTransactionScopeTests
{
    [Fact]
    public async Task SaveChanges_of_two_contexts_in_a_completed_scope_commits_both_databases_as_one_Khonsu_transaction()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        using (var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var khonsu = await db.OpenAsync();
            await using var ledger = await Contexts.LedgerAsync(khonsu);
            await using var shop = await Contexts.ShopAsync(khonsu);
            await WriteBothAsync(ledger, shop);

            Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
            Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 101"));
            scope.Complete();
        }

        Assert.Equal(70L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(30, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Equal(1L, await db.LoggedTransactionsAsync());
    }

    [Fact]
    public async Task SaveChanges_of_two_contexts_in_a_scope_left_without_Complete_rolls_back_both_databases()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        using (new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var khonsu = await db.OpenAsync();
            await using var ledger = await Contexts.LedgerAsync(khonsu);
            await using var shop = await Contexts.ShopAsync(khonsu);
            await WriteBothAsync(ledger, shop);
        }

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 101"));
        Assert.Equal(0L, await db.LoggedTransactionsAsync());
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"));
    }

    private static async Task WriteBothAsync(LedgerContext ledger, ShopContext shop)
    {
        (await ledger.Accounts.SingleAsync(a => a.Id == 1)).Balance -= 30;
        shop.Orders.Add(new Order { Id = 101, AccountId = 1, Amount = 30 });
        await ledger.SaveChangesAsync();
        await shop.SaveChangesAsync();
    }
}
