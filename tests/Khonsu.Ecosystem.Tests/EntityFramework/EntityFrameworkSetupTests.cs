using System.Transactions;
using Khonsu.Data;
using Khonsu.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>
/// Setup in one call per context: on a data source (the context opens a Khonsu connection of its
/// own), and through dependency injection (the contexts of a scope share the scope's connection).
/// </summary>
public class EntityFrameworkSetupTests
{
    [Fact]
    public async Task Contexts_set_up_on_a_data_source_in_one_call_pick_each_backend_s_provider_and_commit_together_in_a_scope()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var dataSource = KhonsuDataSource.Create(db.ConnectionString());
        using (var scope = new TransactionScope(TransactionScopeAsyncFlowOption.Enabled))
        {
            await using var ledger = new LedgerContext(new DbContextOptionsBuilder<LedgerContext>().UseKhonsu(dataSource, "ledger").Options);
            await using var shop = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseKhonsu(dataSource, "shop").Options);
            Assert.Equal("Microsoft.EntityFrameworkCore.Sqlite", ledger.Database.ProviderName);
            Assert.Equal("Npgsql.EntityFrameworkCore.PostgreSQL", shop.Database.ProviderName);
            Assert.IsType<KhonsuExecutionStrategy>(shop.Database.CreateExecutionStrategy());

            (await ledger.Accounts.SingleAsync(a => a.Id == 1)).Balance = 75;
            shop.Orders.Add(new Order { Id = 101, AccountId = 1, Amount = 25 });
            await ledger.SaveChangesAsync();
            await shop.SaveChangesAsync(); // each context has a connection of its own: the scope joins them
            scope.Complete();
        }

        Assert.Equal(75L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(25, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Equal(1L, await db.LoggedTransactionsAsync());
    }

    [Fact]
    public async Task A_context_on_a_data_source_closes_its_Khonsu_connection_when_disposed()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var dataSource = KhonsuDataSource.Create(db.ConnectionString());

        await using (var shop = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseKhonsu(dataSource, "shop").Options))
        {
            shop.Orders.Add(new Order { Id = 101, AccountId = 1, Amount = 25 });
            await shop.SaveChangesAsync();
            Assert.Equal(1, dataSource.OpenConnections);
        }

        Assert.Equal(0, dataSource.OpenConnections);
        Assert.Equal(25, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
    }

    [Fact]
    public async Task Contexts_registered_with_AddKhonsuDbContext_share_the_scope_s_connection_and_its_transaction()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        var services = new ServiceCollection()
            .AddKhonsuDataSource(db.ConnectionString())
            .AddKhonsuDbContext<LedgerContext>("ledger")
            .AddKhonsuDbContext<ShopContext>("shop");
        await using var provider = services.BuildServiceProvider();

        await using (var request = provider.CreateAsyncScope())
        {
            var ledger = request.ServiceProvider.GetRequiredService<LedgerContext>();
            var shop = request.ServiceProvider.GetRequiredService<ShopContext>();
            await ledger.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
            {
                await using var transaction = await ledger.Database.BeginTransactionAsync();
                (await ledger.Accounts.SingleAsync(a => a.Id == 2)).Balance = 40;
                shop.Orders.Add(new Order { Id = 106, AccountId = 2, Amount = 10 });
                await ledger.SaveChangesAsync();
                await shop.SaveChangesAsync(); // the scope's connection: ledger's transaction covers it
                Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 106"));
                await transaction.CommitAsync();
            });
        }

        Assert.Equal(40L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
        Assert.Equal(10, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 106"));
        Assert.Equal(1L, await db.LoggedTransactionsAsync());
    }

    [Fact]
    public void AddKhonsuDbContext_without_Khonsu_registered_says_what_to_register()
    {
        using var provider = new ServiceCollection().AddKhonsuDbContext<ShopContext>("shop").BuildServiceProvider();
        using var request = provider.CreateScope();

        var error = Assert.Throws<InvalidOperationException>(() => request.ServiceProvider.GetRequiredService<ShopContext>().Model);

        Assert.Contains("AddKhonsuDataSource", error.Message, StringComparison.Ordinal);
    }
}
