using Khonsu.Data;
using Khonsu.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>
/// Transactions begun the way EF users begin them, <c>context.Database.BeginTransaction()</c>, on a
/// SQLite context and a PostgreSQL context over one KhonsuConnection: every way EF ends one goes
/// through Khonsu's commit protocol, on both databases at once.
/// </summary>
public class EntityFrameworkTransactionTests
{
    [Fact]
    public async Task BeginTransactionAsync_through_EF_commits_two_contexts_work_atomically_through_Khonsu()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (db, _, ledger, shop) = contexts;

        await ledger.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await ledger.Database.BeginTransactionAsync();
            (await ledger.Accounts.SingleAsync(a => a.Id == 1)).Balance -= 30;
            shop.Orders.Add(new Order { Id = 101, AccountId = 1, Amount = 30 });
            await ledger.SaveChangesAsync();
            await shop.SaveChangesAsync(); // no EF transaction of its own: it joins the connection's Khonsu transaction

            Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
            Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 101"));
            await transaction.CommitAsync();
        });

        Assert.Equal(70L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(30, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Equal(1L, await db.LoggedTransactionsAsync()); // both backends, one decision in Khonsu's log
        Assert.Null(ledger.Database.CurrentTransaction);
    }

    [Fact]
    public async Task BeginTransaction_and_Commit_work_synchronously_and_a_second_context_joins_with_its_own_BeginTransaction()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (db, _, ledger, shop) = contexts;

        ledger.Database.CreateExecutionStrategy().Execute(() =>
        {
            using var begun = ledger.Database.BeginTransaction();
            using var joined = shop.Database.BeginTransaction();
            ledger.Accounts.Single(a => a.Id == 2).Balance = 45;
            ledger.SaveChanges();
            shop.Orders.Add(new Order { Id = 102, AccountId = 2, Amount = 5 });
            shop.SaveChanges();

            joined.Commit(); // the context that joined ends its part; the one that began commits
            begun.Commit();
        });

        Assert.Equal(45L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 102"));
        Assert.Equal(1L, await db.LoggedTransactionsAsync());
    }

    [Fact]
    public async Task A_transaction_begun_on_the_KhonsuConnection_is_joined_by_EF_and_committed_by_its_owner()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (db, khonsu, ledger, shop) = contexts;

        await ledger.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await khonsu.BeginTransactionAsync();
            await using (var joined = await shop.Database.BeginTransactionAsync())
            {
                shop.Orders.Add(new Order { Id = 103, AccountId = 1, Amount = 3 });
                await shop.SaveChangesAsync();
                await joined.CommitAsync();
            }

            // The context joined: its Commit left committing to the transaction's owner.
            Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 103"));

            (await ledger.Accounts.SingleAsync(a => a.Id == 1)).Balance = 97;
            await ledger.SaveChangesAsync();
            await transaction.CommitAsync();
        });

        Assert.Equal(97L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(3, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 103"));
    }

    [Fact]
    public async Task Rollback_through_EF_rolls_back_both_contexts_work()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (db, khonsu, ledger, shop) = contexts;

        await ledger.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await shop.Database.BeginTransactionAsync();
            await WriteBothAsync(ledger, shop);
            await transaction.RollbackAsync();
        });

        await AssertNeitherChangedAsync(db, khonsu);
    }

    [Fact]
    public async Task Disposing_an_EF_transaction_without_Commit_rolls_back_through_Khonsu_on_both_backends()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (db, khonsu, ledger, shop) = contexts;

        ledger.Database.CreateExecutionStrategy().Execute(() =>
        {
            using var transaction = ledger.Database.BeginTransaction();
            ledger.Accounts.Single(a => a.Id == 2).Balance = 0;
            shop.Orders.Remove(shop.Orders.Single(o => o.Id == 100));
            ledger.SaveChanges();
            shop.SaveChanges();
        });

        await AssertNeitherChangedAsync(db, khonsu);
    }

    [Fact]
    public async Task An_exception_inside_an_EF_transaction_rolls_back_both_contexts_work()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (db, khonsu, ledger, shop) = contexts;

        await Assert.ThrowsAsync<ApplicationException>(() => ledger.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await ledger.Database.BeginTransactionAsync();
            await WriteBothAsync(ledger, shop);
            throw new ApplicationException("the application gives up before committing");
        }));

        await AssertNeitherChangedAsync(db, khonsu);
    }

    [Fact]
    public async Task A_SaveChanges_that_fails_inside_an_EF_transaction_is_undone_to_EFs_savepoint_and_the_transaction_commits_the_rest()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (db, _, ledger, shop) = contexts;

        await ledger.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await shop.Database.BeginTransactionAsync();
            (await ledger.Accounts.SingleAsync(a => a.Id == 1)).Balance = 60;
            await ledger.SaveChangesAsync();
            Assert.Equal(5, (await shop.Orders.AsNoTracking().SingleAsync(o => o.Id == 100)).Amount); // both backends are in the transaction

            // One batch: order 104, then order 100 again, which PostgreSQL refuses. EF rolls back to the
            // savepoint it set around SaveChanges, which Khonsu set on both backends.
            shop.Orders.Add(new Order { Id = 104, AccountId = 1, Amount = 4 });
            shop.Orders.Add(new Order { Id = 100, AccountId = 1, Amount = 4 });
            await Assert.ThrowsAsync<DbUpdateException>(() => shop.SaveChangesAsync());

            shop.ChangeTracker.Clear();
            shop.Orders.Add(new Order { Id = 105, AccountId = 1, Amount = 6 });
            await shop.SaveChangesAsync();
            await transaction.CommitAsync();
        });

        Assert.Equal(60L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 104"));
        Assert.Equal(6, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 105"));
        Assert.Equal(5, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task A_conflict_at_an_EF_transaction_s_commit_is_retried_whole_by_the_execution_strategy()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (db, _, ledger, shop) = contexts;
        var attempts = 0;

        await ledger.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            attempts++;
            ledger.ChangeTracker.Clear();
            shop.ChangeTracker.Clear();
            await using var transaction = await ledger.Database.BeginTransactionAsync();
            var order = await shop.Orders.SingleAsync(o => o.Id == 100);
            if (attempts == 1)
            {
                // Another writer changes the order this transaction read: its read is stale at commit.
                await db.PostgresAsync("UPDATE orders SET amount = amount + 1 WHERE id = 100");
            }

            (await ledger.Accounts.SingleAsync(a => a.Id == 1)).Balance -= order.Amount;
            await ledger.SaveChangesAsync();
            await transaction.CommitAsync();
        });

        Assert.Equal(2, attempts);
        Assert.Equal(94L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task Joining_at_another_isolation_level_than_the_transaction_s_is_refused()
    {
        await using var contexts = await LedgerAndShopContexts.OpenAsync();
        var (_, khonsu, _, shop) = contexts;
        await using var transaction = await khonsu.BeginTransactionAsync(System.Data.IsolationLevel.Snapshot);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => shop.Database.BeginTransactionAsync(System.Data.IsolationLevel.Serializable));

        Assert.Contains("Snapshot", error.Message, StringComparison.Ordinal);
        await using var joined = await shop.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead); // runs at Snapshot too
    }

    [Fact]
    public async Task A_context_cannot_use_a_provider_transaction_of_its_own()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync();
        await using var ledger = await Contexts.LedgerAsync(khonsu);
        var sqlite = (Microsoft.Data.Sqlite.SqliteConnection)await khonsu.GetBackendConnectionAsync("ledger");

        await using var own = await sqlite.BeginTransactionAsync();
        var error = Assert.Throws<InvalidOperationException>(() => ledger.Database.UseTransaction(own));

        Assert.Contains("BeginTransaction", error.Message, StringComparison.Ordinal);
    }

    private static async Task WriteBothAsync(LedgerContext ledger, ShopContext shop)
    {
        (await ledger.Accounts.SingleAsync(a => a.Id == 2)).Balance = 0;
        shop.Orders.Remove(await shop.Orders.SingleAsync(o => o.Id == 100));
        await ledger.SaveChangesAsync();
        await shop.SaveChangesAsync();
    }

    /// <summary>Neither database changed, and the Khonsu transaction ended with EF's (a new one can begin).</summary>
    private static async Task AssertNeitherChangedAsync(LedgerAndShop db, KhonsuConnection khonsu)
    {
        Assert.Equal(50L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 100"));
        Assert.Equal(0L, await db.LoggedTransactionsAsync());
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"));
        await using var next = await khonsu.BeginTransactionAsync();
    }
}
