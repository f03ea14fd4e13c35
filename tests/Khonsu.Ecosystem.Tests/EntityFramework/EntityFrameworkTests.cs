using Khonsu.Data;
using Microsoft.EntityFrameworkCore;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

public class EntityFrameworkTests
{
    [Fact]
    public async Task SaveChanges_on_SQLite_and_PostgreSQL_contexts_in_one_Khonsu_transaction_commits_on_both()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync();
        await using var ledger = await Contexts.LedgerAsync(khonsu);
        await using var shop = await Contexts.ShopAsync(khonsu);

        await using (var transaction = await khonsu.BeginTransactionAsync())
        {
            var ada = await ledger.Accounts.SingleAsync(a => a.Id == 1);
            ada.Balance -= 30;
            shop.Orders.Add(new Order { Id = 101, AccountId = 1, Amount = 30 });
            await ledger.SaveChangesAsync();
            await shop.SaveChangesAsync();

            Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
            Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 101"));
            await transaction.CommitAsync();
        }

        Assert.Equal(70L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(30, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Equal(1L, await db.LoggedTransactionsAsync());
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task A_Khonsu_transaction_rolled_back_after_SaveChanges_leaves_neither_backend_changed()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync();
        await using var ledger = await Contexts.LedgerAsync(khonsu);
        await using var shop = await Contexts.ShopAsync(khonsu);

        await using (var transaction = await khonsu.BeginTransactionAsync())
        {
            (await ledger.Accounts.SingleAsync(a => a.Id == 2)).Balance = 0;
            shop.Orders.Remove(await shop.Orders.SingleAsync(o => o.Id == 100));
            await ledger.SaveChangesAsync();
            await shop.SaveChangesAsync();
            await transaction.RollbackAsync();
        }

        Assert.Equal(50L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 100"));
        Assert.Equal(0L, await db.LoggedTransactionsAsync());
    }

    [Fact]
    public async Task SaveChanges_outside_a_transaction_commits_in_a_Khonsu_transaction_of_its_own()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync();
        await using var ledger = await Contexts.LedgerAsync(khonsu);
        await using var shop = await Contexts.ShopAsync(khonsu);

        shop.Orders.Add(new Order { Id = 102, AccountId = 2, Amount = 7 });
        Assert.Equal(1, await shop.SaveChangesAsync());
        ledger.Accounts.Add(new Account { Id = 3, Owner = "cy", Balance = 9 });
        (await ledger.Accounts.SingleAsync(a => a.Id == 2)).Balance = 43;
        Assert.Equal(2, ledger.SaveChanges());

        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 102"));
        Assert.Equal(9L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 3"));
        Assert.Equal(43L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
        // Each touched one database, so Khonsu committed it in one phase: that database's own COMMIT,
        // no prepared transaction and no applied-marker left behind.
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM khonsu.applied"));
        Assert.Equal(0L, await db.SqliteScalarAsync("SELECT count(*) FROM khonsu_applied"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.Equal(EntityState.Unchanged, ledger.Entry(await ledger.Accounts.SingleAsync(a => a.Id == 3)).State);

        // The version column is mapped: on PostgreSQL EF reads back the version the trigger bumped.
        var order = await shop.Orders.SingleAsync(o => o.Id == 100);
        order.Amount = 8;
        await shop.SaveChangesAsync();
        Assert.Equal(2L, await db.PostgresScalarAsync("SELECT version FROM orders WHERE id = 100"));
        Assert.Equal(2L, shop.Entry(order).Property<long>("version").CurrentValue);
    }

    [Fact]
    public async Task SaveChanges_that_meets_a_write_conflict_under_Replace_lands_its_update_over_the_committed_row()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync(";Conflict.orders=Replace");
        await using var shop = await Contexts.ShopAsync(khonsu);
        await using var transaction = await khonsu.BeginTransactionAsync(System.Data.IsolationLevel.Snapshot);
        var order = await shop.Orders.SingleAsync(o => o.Id == 100);
        await CommitElsewhereAsync(db, ";Conflict.orders=Replace", "UPDATE orders SET amount = 7 WHERE id = 100");

        // EF sends UPDATE ... RETURNING version through a batch reader: the conflict is met there.
        order.Amount = 9;
        Assert.Equal(1, await shop.SaveChangesAsync());
        await transaction.CommitAsync();

        Assert.Equal(9, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(await db.PostgresScalarAsync("SELECT version FROM orders WHERE id = 100"), shop.Entry(order).Property<long>("version").CurrentValue);
    }

    [Fact]
    public async Task SaveChanges_whose_update_the_Ignore_policy_drops_gets_EFs_concurrency_exception()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync(";Conflict.orders=Ignore");
        await using var shop = await Contexts.ShopAsync(khonsu);
        await using var transaction = await khonsu.BeginTransactionAsync(System.Data.IsolationLevel.Snapshot);
        var order = await shop.Orders.SingleAsync(o => o.Id == 100);
        await CommitElsewhereAsync(db, ";Conflict.orders=Ignore", "UPDATE orders SET amount = 7 WHERE id = 100");

        order.Amount = 9;
        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => shop.SaveChangesAsync());
        await transaction.CommitAsync(); // the dropped statement left the transaction usable

        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Raw_SQL_through_EF_whose_insert_meets_a_concurrent_insert_of_its_key_lands_under_a_new_key_under_Append()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await db.PostgresAsync("CREATE TABLE events (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, body text)");
        await using var khonsu = await db.OpenAsync(";Conflict.events=Append");
        await using var shop = await Contexts.ShopAsync(khonsu);
        await using var transaction = await khonsu.BeginTransactionAsync(System.Data.IsolationLevel.Snapshot);
        Assert.Equal(5, (await shop.Orders.SingleAsync(o => o.Id == 100)).Amount);
        await CommitElsewhereAsync(db, ";Conflict.events=Append", "INSERT INTO events (id, body) VALUES (100, 'first')");

        Assert.Equal(1, await shop.Database.ExecuteSqlRawAsync("INSERT INTO events (id, body) VALUES (100, 'second')"));
        await transaction.CommitAsync();

        Assert.Equal("first", await db.PostgresScalarAsync("SELECT body FROM events WHERE id = 100"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM events WHERE body = 'second' AND id <> 100"));
    }

    /// <summary>
    /// A Khonsu transaction of another connection of the same connection string (<paramref name="extra"/>:
    /// one runtime per embedded log), committed before the caller goes on.
    /// </summary>
    private static async Task CommitElsewhereAsync(LedgerAndShop db, string extra, string sql)
    {
        await using var other = await db.OpenAsync(extra);
        await using var transaction = await other.BeginTransactionAsync();
        await Run(other, sql);
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task A_serialization_conflict_at_commit_is_retried_by_the_execution_strategy()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync();
        var seen = new List<Exception>();
        await using var ledger = await Contexts.LedgerAsync(khonsu);
        await using var shop = await Contexts.ShopAsync(khonsu, d => new RecordingStrategy(d, seen));
        var attempts = 0;

        await shop.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            attempts++;
            ledger.ChangeTracker.Clear();
            shop.ChangeTracker.Clear();
            await using var transaction = await khonsu.BeginTransactionAsync();
            var order = await shop.Orders.SingleAsync(o => o.Id == 100);
            if (attempts == 1)
            {
                // Another writer changes the order this transaction read: its read is stale at commit.
                await db.PostgresAsync("UPDATE orders SET amount = amount + 1 WHERE id = 100");
            }

            var ada = await ledger.Accounts.SingleAsync(a => a.Id == 1);
            ada.Balance -= order.Amount;
            await ledger.SaveChangesAsync();
            await transaction.CommitAsync();
        });

        Assert.Equal(2, attempts);
        var conflict = Assert.IsType<KhonsuException>(Assert.Single(seen));
        Assert.Equal("40001", conflict.SqlState);
        Assert.True(conflict.IsTransient);
        Assert.Equal(94L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }

    [Fact]
    public async Task Write_skew_across_backends_through_EF_aggregates_is_refused_at_Serializable()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var k1 = await db.OpenAsync();
        await using var k2 = await db.OpenAsync();
        await using var ledger1 = await Contexts.LedgerAsync(k1);
        await using var shop1 = await Contexts.ShopAsync(k1);
        await using var ledger2 = await Contexts.LedgerAsync(k2);
        await using var shop2 = await Contexts.ShopAsync(k2);
        await using var t1 = await k1.BeginTransactionAsync(System.Data.IsolationLevel.Serializable);
        await using var t2 = await k2.BeginTransactionAsync(System.Data.IsolationLevel.Serializable);

        // Each reads the orders as a whole (an aggregate carries no row keys, so only the table
        // read can be recorded), then adds an order and moves money on SQLite: write skew.
        var seenBy1 = await shop1.Orders.SumAsync(o => o.Amount);
        var seenBy2 = await shop2.Orders.SumAsync(o => o.Amount);
        shop1.Orders.Add(new Order { Id = 400, AccountId = 1, Amount = seenBy1 });
        await shop1.SaveChangesAsync();
        (await ledger1.Accounts.SingleAsync(a => a.Id == 1)).Balance -= seenBy1;
        await ledger1.SaveChangesAsync();
        await t1.CommitAsync();
        shop2.Orders.Add(new Order { Id = 401, AccountId = 2, Amount = seenBy2 });
        await shop2.SaveChangesAsync();
        (await ledger2.Accounts.SingleAsync(a => a.Id == 2)).Balance -= seenBy2;
        await ledger2.SaveChangesAsync();
        var failure = await Assert.ThrowsAsync<KhonsuException>(() => t2.CommitAsync());

        Assert.Equal("40001", failure.SqlState);
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id IN (400, 401)"));
        Assert.Equal(95L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(50L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
    }

    [Theory]
    [InlineData("find by key", true)]
    [InlineData("first by key", true)]
    [InlineData("where", false)]
    [InlineData("execute update", false)]
    public async Task Only_lookups_by_key_through_EF_are_no_conflict_with_an_insert_of_another_key(string read, bool commits)
    {
        // T1 reads orders through EF on PostgreSQL and writes the account T2 read on SQLite; T2
        // inserts an order. A range read covers T2's order (a phantom): T1 is then a pivot.
        await using var db = await LedgerAndShop.CreateAsync();
        await using var k1 = await db.OpenAsync();
        await using var k2 = await db.OpenAsync();
        await using var shop1 = await Contexts.ShopAsync(k1);
        await using var t1 = await k1.BeginTransactionAsync(System.Data.IsolationLevel.Serializable);
        await using var t2 = await k2.BeginTransactionAsync(System.Data.IsolationLevel.Serializable);

        _ = read switch
        {
            "find by key" => (await shop1.Orders.FindAsync(100))!.Amount,
            "first by key" => (await shop1.Orders.FirstAsync(o => o.Id == 100)).Amount,
            "where" => (await shop1.Orders.Where(o => o.AccountId == 1).ToListAsync()).Count,
            _ => await shop1.Orders.Where(o => o.AccountId == 1).ExecuteUpdateAsync(o => o.SetProperty(x => x.Amount, 6)),
        };
        await Run(k2, "SELECT balance FROM accounts WHERE id = 1");
        await Run(k2, "INSERT INTO orders (id, account_id, amount) VALUES (102, 1, 1)");
        await t2.CommitAsync();
        await Run(k1, "UPDATE accounts SET balance = 1 WHERE id = 1");

        if (commits)
        {
            await t1.CommitAsync();
        }
        else
        {
            Assert.Equal("40001", (await Assert.ThrowsAsync<KhonsuException>(() => t1.CommitAsync())).SqlState);
        }
    }

    [Theory]
    [InlineData("Transaction")]
    [InlineData("Direct")]
    public async Task A_write_EF_runs_outside_a_transaction_is_certified_as_a_transaction_of_its_own(string autocommit)
    {
        // Closing counts the day's slots (a whole-table read), closes the day and records the count
        // on SQLite; a booking through EF's ExecuteSqlRaw, outside any transaction, adds a slot to a
        // day that is still open. Either order alone is consistent; interleaved, only certification
        // of the booking refuses the close.
        await using var db = await LedgerAndShop.CreateAsync();
        await db.PostgresAsync("CREATE TABLE slots (id integer PRIMARY KEY, day integer NOT NULL); INSERT INTO slots VALUES (1, 1), (2, 1); CREATE TABLE day_status (day integer PRIMARY KEY, open integer NOT NULL); INSERT INTO day_status VALUES (1, 1);");
        await db.SqliteAsync("CREATE TABLE days (id INTEGER PRIMARY KEY, booked INTEGER); INSERT INTO days (id) VALUES (1);");
        await using var closer = await db.OpenAsync($";Autocommit={autocommit}");
        await using var booker = await db.OpenAsync($";Autocommit={autocommit}");
        await using var shop = await Contexts.ShopAsync(booker);
        await using var close = await closer.BeginTransactionAsync();

        await using var count = new KhonsuCommand("SELECT count(*) FROM slots WHERE day = 1", closer);
        var counted = Convert.ToInt64(await count.ExecuteScalarAsync());
        Assert.Equal(1, await shop.Database.ExecuteSqlRawAsync("INSERT INTO slots (id, day) SELECT 3, 1 FROM day_status WHERE day = 1 AND open = 1"));
        await Run(closer, "UPDATE day_status SET open = 0 WHERE day = 1");
        await Run(closer, $"UPDATE days SET booked = {counted} WHERE id = 1");
        var refused = await Record.ExceptionAsync(() => close.CommitAsync());

        Assert.Null(booker.CurrentTransaction);
        Assert.Equal(3L, await db.PostgresScalarAsync("SELECT count(*) FROM slots WHERE day = 1"));
        if (autocommit == "Direct")
        {
            Assert.Null(refused);
            Assert.Equal(2L, await db.SqliteScalarAsync("SELECT booked FROM days WHERE id = 1")); // says 2; the day has 3
        }
        else
        {
            Assert.Equal("40001", Assert.IsType<KhonsuException>(refused).SqlState);
            Assert.Equal(DBNull.Value, await db.SqliteScalarAsync("SELECT booked FROM days WHERE id = 1"));
        }
    }

    [Fact]
    public async Task A_failed_write_EF_runs_outside_a_transaction_leaves_nothing_and_the_context_goes_on()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync();
        await using var ledger = await Contexts.LedgerAsync(khonsu);

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => ledger.Database.ExecuteSqlRawAsync(
            "INSERT INTO accounts (id, owner, balance) VALUES (3, 'cy', 1); INSERT INTO accounts (id, owner, balance) VALUES (1, 'dup', 0)"));

        Assert.Null(khonsu.CurrentTransaction);
        Assert.Equal(2L, await db.SqliteScalarAsync("SELECT count(*) FROM accounts"));
        Assert.Equal(1, await ledger.Accounts.Where(a => a.Id == 2).ExecuteUpdateAsync(a => a.SetProperty(x => x.Balance, 60)));
        Assert.Equal(60L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 2"));
    }

    [Theory]
    [InlineData("orders", false)]
    [InlineData("shop_notes", true)]
    public async Task A_view_read_through_EF_raw_SQL_reads_the_view_s_tables_only(string writtenByT2, bool commits)
    {
        // T1 reads a view of orders through EF and writes the account T2 read; T2 inserts into
        // orders (T1's view covers it: T1 is a pivot) or into a table the view does not read.
        await using var db = await LedgerAndShop.CreateAsync();
        await db.PostgresAsync("CREATE VIEW order_amounts AS SELECT id, account_id, amount FROM orders; CREATE TABLE shop_notes (id integer PRIMARY KEY, body text)");
        await using var k1 = await db.OpenAsync(";Route.order_amounts=shop");
        await using var k2 = await db.OpenAsync(";Route.order_amounts=shop");
        await using var shop1 = await Contexts.ShopAsync(k1);
        await using var t1 = await k1.BeginTransactionAsync(System.Data.IsolationLevel.Serializable);
        await using var t2 = await k2.BeginTransactionAsync(System.Data.IsolationLevel.Serializable);

        Assert.Equal(5, await shop1.Database.SqlQuery<int>($"SELECT sum(amount)::int AS \"Value\" FROM order_amounts WHERE account_id = {1}").SingleAsync());
        await Run(k2, "SELECT balance FROM accounts WHERE id = 1");
        await Run(k2, writtenByT2 == "orders" ? "INSERT INTO orders (id, account_id, amount) VALUES (102, 1, 1)" : "INSERT INTO shop_notes (id, body) VALUES (1, 'unrelated')");
        await t2.CommitAsync();
        await Run(k1, "UPDATE accounts SET balance = 1 WHERE id = 1");

        if (commits)
        {
            await t1.CommitAsync();
        }
        else
        {
            Assert.Equal("40001", (await Assert.ThrowsAsync<KhonsuException>(() => t1.CommitAsync())).SqlState);
        }
    }

    [Fact]
    public async Task A_SQLite_context_keeps_EF_SQLite_functions_because_it_runs_on_the_real_SqliteConnection()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync();
        await using var ledger = await Contexts.LedgerAsync(khonsu);

        // Decimal division and comparison translate to ef_divide and ef_compare on SQLite.
        var thirds = await ledger.Accounts.OrderBy(a => a.Id).Select(a => (decimal)a.Balance / 3m).Where(d => d > 10m).ToListAsync();

        Assert.Equal([100m / 3m, 50m / 3m], thirds);
    }

    [Fact]
    public async Task A_table_EF_raw_SQL_creates_after_another_statement_is_routed_and_versioned_at_once()
    {
        // What DDL is comes from the statement scanner for EF's commands as for Khonsu's own: a
        // migration batch whose first statement is no CREATE still installs the version trigger.
        await using var db = await LedgerAndShop.CreateAsync();
        await using var khonsu = await db.OpenAsync(";Route.shipments=shop");
        await using var shop = await Contexts.ShopAsync(khonsu);

        await shop.Database.ExecuteSqlRawAsync(
            "UPDATE orders SET amount = amount WHERE id = 100; CREATE TABLE shipments (id integer PRIMARY KEY, status text NOT NULL)");
        await shop.Database.ExecuteSqlRawAsync("INSERT INTO shipments VALUES (1, 'new')");
        await shop.Database.ExecuteSqlRawAsync("UPDATE shipments SET status = 'sent' WHERE id = 1");

        Assert.Equal(2L, await db.PostgresScalarAsync("SELECT version FROM shipments WHERE id = 1"));
    }

    private static async Task Run(KhonsuConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteScalarAsync();
    }
}
