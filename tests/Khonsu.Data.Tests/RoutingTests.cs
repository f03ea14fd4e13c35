using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests;

public class RoutingTests
{
    [Fact]
    public async Task Each_statement_goes_to_the_backend_that_owns_its_tables()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        Assert.Equal("ada", await Scalar(connection, "SELECT owner FROM accounts WHERE id = 1"));
        Assert.Equal(5, await Scalar(connection, "SELECT amount FROM orders WHERE id = 100"));
    }

    [Theory]
    [InlineData("SELECT 'orders' FROM accounts WHERE id = 1")]
    [InlineData("SELECT owner AS \"orders\" FROM accounts WHERE id = 1")]
    [InlineData("SELECT owner FROM accounts /* JOIN orders */ WHERE id = 1 -- FROM orders")]
    public async Task Table_names_in_text_do_not_fool_routing(string sql)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        Assert.NotNull(await Scalar(connection, sql));
    }

    [Fact]
    public async Task A_statement_that_names_no_table_goes_to_the_first_backend()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        Assert.True(SqliteVersion(await Scalar(connection, "SELECT sqlite_version()")));
    }

    [Fact]
    public async Task A_statement_over_two_backends_fails_naming_both()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        var error = await Assert.ThrowsAsync<KhonsuException>(() => Scalar(connection, "SELECT count(*) FROM accounts a JOIN orders o ON o.account_id = a.id"));

        Assert.Contains("'ledger'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'shop'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_in_two_backends_needs_a_route()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'from sqlite')");
        await db.PostgresAsync("CREATE TABLE notes (id integer PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'from postgres')");

        await using (var unrouted = await db.OpenAsync())
        {
            var error = await Assert.ThrowsAsync<KhonsuException>(() => Scalar(unrouted, "SELECT body FROM notes"));
            Assert.Contains("Route.notes", error.Message, StringComparison.Ordinal);
            await KhonsuConnection.ClearPoolAsync(unrouted); // one runtime per embedded log at a time
        }

        await using var routed = await db.OpenAsync(";Route.notes=shop");
        Assert.Equal("from postgres", await Scalar(routed, "SELECT body FROM notes"));
    }

    [Fact]
    public async Task A_routed_name_that_is_no_table_may_read_any_table_of_its_backend()
    {
        // Routing a view (Route.v=...) names its backend, not what it reads: until the database's
        // parser says which tables (see ParsedReadTests), it reads the whole backend.
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("CREATE VIEW order_amounts AS SELECT id, amount FROM orders");
        await using var connection = await db.OpenAsync(";Route.order_amounts=shop;Route.orders=shop");

        var view = connection.Runtime.Router.Route("SELECT sum(amount) FROM order_amounts");
        var table = connection.Runtime.Router.Route("SELECT sum(amount) FROM orders");

        Assert.Equal(("shop", true), (view.Backend.Name, view.ReadsUnknownRelations));
        Assert.Equal(("shop", false), (table.Backend.Name, table.ReadsUnknownRelations));
    }

    [Fact]
    public async Task A_table_created_through_khonsu_is_routed_and_tracked_at_once()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";Route.shipments=shop");

        await Execute(connection, "CREATE TABLE shipments (id integer PRIMARY KEY, status text NOT NULL)");
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "INSERT INTO shipments VALUES (1, 'new')");
            await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 1");
            await transaction.CommitAsync();
        }

        await Execute(connection, "UPDATE shipments SET status = 'sent' WHERE id = 1");
        Assert.Equal(2L, await db.PostgresScalarAsync("SELECT version FROM shipments WHERE id = 1"));
        Assert.Equal("sent", await Scalar(connection, "SELECT status FROM shipments WHERE id = 1"));
    }

    private static bool SqliteVersion(object? value) => value is string text && text.StartsWith('3');
}
