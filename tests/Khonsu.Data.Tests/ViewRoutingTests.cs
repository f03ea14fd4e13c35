using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

/// <summary>
/// Views in the backends' catalogs route statements as tables do, with no Route key; they stay
/// unknown relations for the read set (see ParsedReadTests for what that means to the certifier).
/// </summary>
public class ViewRoutingTests
{
    [Fact]
    public async Task A_query_on_a_postgres_view_goes_to_postgres_with_no_route()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE VIEW order_amounts AS SELECT id, amount FROM orders; CREATE MATERIALIZED VIEW order_sums AS SELECT sum(amount) AS total FROM orders");
        await using var connection = await db.OpenAsync(); // ledger (SQLite) first

        Assert.Equal(5L, Convert.ToInt64(await Scalar(connection, "SELECT sum(amount) FROM order_amounts")));
        Assert.Equal(5L, Convert.ToInt64(await Scalar(connection, "SELECT total FROM public.order_sums")));
        AssertReadsWholeBackend(connection, "SELECT sum(amount) FROM order_amounts", "shop");
        AssertReadsWholeBackend(connection, "SELECT total FROM order_sums", "shop");
    }

    [Fact]
    public async Task A_query_on_a_sqlite_view_goes_to_sqlite_with_no_route()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE VIEW account_balances AS SELECT id, balance FROM accounts");
        await using var connection = await db.OpenShopFirstAsync();

        Assert.Equal(150L, Convert.ToInt64(await Scalar(connection, "SELECT sum(balance) FROM account_balances")));
        AssertReadsWholeBackend(connection, "SELECT sum(balance) FROM account_balances", "ledger");
    }

    [Fact]
    public async Task A_view_created_through_khonsu_is_routed_at_once()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await Execute(connection, "CREATE VIEW order_amounts AS SELECT id, amount FROM orders");
        await Execute(connection, "CREATE MATERIALIZED VIEW order_sums AS SELECT sum(amount) AS total FROM orders");

        Assert.Equal(5L, Convert.ToInt64(await Scalar(connection, "SELECT sum(amount) FROM order_amounts")));
        Assert.Equal(5L, Convert.ToInt64(await Scalar(connection, "SELECT total FROM order_sums")));
    }

    [Fact]
    public async Task A_write_through_a_postgres_view_is_a_tracked_write_of_its_table_and_reads_the_whole_backend()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE VIEW order_amounts AS SELECT id, amount FROM orders");
        await using var connection = await db.OpenAsync();
        var before = Convert.ToInt64(await db.PostgresScalarAsync("SELECT version FROM orders WHERE id = 100"));

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.Equal(1, await Execute(connection, "UPDATE order_amounts SET amount = 7 WHERE id = 100"));
            await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 1");
            await transaction.CommitAsync();
        }

        var route = connection.Runtime.Router.Route("UPDATE order_amounts SET amount = 7 WHERE id = 100");
        Assert.Equal(("shop", true, true), (route.Backend.Name, route.Writes, route.ReadsUnknownRelations));
        Assert.Equal(before + 1, Convert.ToInt64(await db.PostgresScalarAsync("SELECT version FROM orders WHERE id = 100")));
        Assert.Equal(7L, Convert.ToInt64(await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100")));
    }

    [Fact]
    public async Task A_view_name_in_two_backends_needs_a_route()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE VIEW totals AS SELECT sum(balance) AS total FROM accounts; CREATE VIEW notes AS SELECT owner AS body FROM accounts");
        await db.PostgresAsync("CREATE VIEW totals AS SELECT sum(amount) AS total FROM orders; CREATE TABLE notes (id integer PRIMARY KEY, body text)");

        await using (var unrouted = await db.OpenAsync())
        {
            var view = await Assert.ThrowsAsync<KhonsuException>(() => Scalar(unrouted, "SELECT total FROM totals"));
            Assert.Equal(
                "View 'totals' exists in backends 'ledger' and 'shop': add Route.totals=<backend> to the connection string to say which one to use.",
                view.Message);
            var mixed = await Assert.ThrowsAsync<KhonsuException>(() => Scalar(unrouted, "SELECT body FROM notes"));
            Assert.StartsWith("Table or view 'notes' exists in backends ", mixed.Message, StringComparison.Ordinal);
            Assert.Contains("Route.notes", mixed.Message, StringComparison.Ordinal);
            await KhonsuConnection.ClearPoolAsync(unrouted); // one runtime per embedded log at a time
        }

        await using var routed = await db.OpenAsync(";Route.totals=shop");
        Assert.Equal(5L, Convert.ToInt64(await Scalar(routed, "SELECT total FROM totals")));
    }

    /// <summary>The statement runs on <paramref name="backend"/> and, until a parser says better, may read any of its tables.</summary>
    private static void AssertReadsWholeBackend(KhonsuConnection connection, string sql, string backend)
    {
        var route = connection.Runtime.Router.Route(sql);
        Assert.Equal((backend, true), (route.Backend.Name, route.ReadsUnknownRelations));
    }
}
