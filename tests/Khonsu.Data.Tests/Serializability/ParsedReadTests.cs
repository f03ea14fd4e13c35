using System.Data;
using Khonsu.Data.Postgres;
using Khonsu.Data.Sqlite;
using static Khonsu.Data.Tests.Serializability.AnomalyTests;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>
/// Read sets from the databases' own parsers (issue 3): a read through a view is a read of its
/// base tables, not of the whole backend; a SQLite trigger's reads count; a PostgreSQL function,
/// whose body no plan shows, leaves its statement reading anything. Each scenario is a reader
/// whose snapshot on one backend is taken before a writer commits and on the other after it: had
/// it read what the writer wrote there, it saw half of the writer (a fractured read) and must fail.
/// </summary>
public class ParsedReadTests
{
    [Theory]
    [InlineData(RouteViews)]
    [InlineData(CatalogViews)]
    public async Task A_read_through_a_sqlite_view_of_a_table_another_transaction_wrote_fails(string routes)
    {
        await using var db = await ViewsAsync();
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable, routes);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable, routes);

        Assert.Equal(5, await reader.ReadAsync(Db.Postgres, "SELECT sum(amount) FROM orders")); // PostgreSQL snapshot: before the writer
        await writer.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
        await writer.WriteAsync(Db.Postgres, "UPDATE orders SET amount = amount + 10 WHERE id = 100");
        await writer.CommitAsync();
        Assert.Equal(140, await reader.ReadAsync(Db.Sqlite, "SELECT sum(balance) FROM account_balances")); // SQLite snapshot: after it
        await reader.CommitAsync();

        Assert.True(writer.Committed);
        AssertSerializationFailure(reader);
    }

    [Theory]
    [InlineData(RouteViews)]
    [InlineData(CatalogViews)]
    public async Task A_read_through_a_sqlite_view_commits_beside_a_write_to_another_table_of_the_database(string routes)
    {
        // Read as the whole SQLite backend (what a view was before), the note the writer added
        // would be half of the writer seen: the reader would fail for nothing.
        await using var db = await ViewsAsync();
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable, routes);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable, routes);

        Assert.Equal(5, await reader.ReadAsync(Db.Postgres, "SELECT sum(amount) FROM orders"));
        await writer.WriteAsync(Db.Sqlite, "INSERT INTO notes (id, body) VALUES (2, 'unrelated')");
        await writer.WriteAsync(Db.Postgres, "UPDATE orders SET amount = amount + 10 WHERE id = 100");
        await writer.CommitAsync();
        Assert.Equal(150, await reader.ReadAsync(Db.Sqlite, "SELECT sum(balance) FROM account_balances"));
        await reader.CommitAsync();

        Assert.True(reader.Failure is null, reader.Failure?.Message);
        Assert.Equal(2, Committed(reader, writer));
    }

    [Theory]
    [InlineData(RouteViews)]
    [InlineData(CatalogViews)]
    public async Task A_read_through_a_postgres_view_of_a_table_another_transaction_wrote_fails(string routes)
    {
        await using var db = await ViewsAsync();
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable, routes);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable, routes);

        Assert.Equal(5, await reader.ReadAsync(Db.Postgres, "SELECT sum(amount) FROM order_amounts WHERE amount > @min", ("min", 0))); // PostgreSQL snapshot: before the writer
        await writer.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
        await writer.WriteAsync(Db.Postgres, "UPDATE orders SET amount = amount + 10 WHERE id = 100");
        await writer.CommitAsync();
        Assert.Equal(140, await reader.ReadAsync(Db.Sqlite, "SELECT sum(balance) FROM accounts")); // SQLite snapshot: after it
        await reader.CommitAsync();

        Assert.True(writer.Committed);
        AssertSerializationFailure(reader);
    }

    [Fact]
    public async Task A_read_through_a_catalog_routed_postgres_view_that_calls_nothing_is_still_a_read_of_its_table()
    {
        // The text names the view only and calls nothing: a table's name there would never be
        // probed, and the read would cover the view's name alone, missing the writer's order.
        await using var db = await ViewsAsync();
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable, CatalogViews);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable, CatalogViews);

        Assert.Equal(5, await reader.ReadAsync(Db.Postgres, "SELECT amount FROM order_amounts WHERE amount > @min", ("min", 0))); // PostgreSQL snapshot: before the writer
        await writer.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
        await writer.WriteAsync(Db.Postgres, "UPDATE orders SET amount = amount + 10 WHERE id = 100");
        await writer.CommitAsync();
        Assert.Equal(140, await reader.ReadAsync(Db.Sqlite, "SELECT sum(balance) FROM accounts")); // SQLite snapshot: after it
        await reader.CommitAsync();

        Assert.True(writer.Committed);
        AssertSerializationFailure(reader);
    }

    [Theory]
    [InlineData(RouteViews)]
    [InlineData(CatalogViews)]
    public async Task A_read_through_a_postgres_view_commits_beside_a_write_to_another_table_of_the_database(string routes)
    {
        // The writer read account 1, which the reader writes (writer -rw-> reader), and added a
        // note. Read as the whole PostgreSQL backend, the reader's view would close a cycle
        // through that note (reader -rw-> writer) and fail for nothing.
        await using var db = await ViewsAsync();
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable, routes);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable, routes);

        Assert.Equal(100, await reader.ReadAsync(Db.Sqlite, "SELECT balance FROM accounts WHERE id = 1")); // the reader's snapshots: before the writer
        Assert.Equal(5, await reader.ReadAsync(Db.Postgres, "SELECT sum(amount) FROM order_amounts WHERE amount > @min", ("min", 0)));
        Assert.Equal(100, await writer.ReadAsync(Db.Sqlite, "SELECT balance FROM accounts WHERE id = 1"));
        await writer.WriteAsync(Db.Postgres, "INSERT INTO shop_notes (id, body) VALUES (2, 'unrelated')");
        await writer.CommitAsync();
        await reader.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = 95 WHERE id = 1");
        await reader.CommitAsync();

        Assert.True(reader.Failure is null, reader.Failure?.Message);
        Assert.Equal(2, Committed(reader, writer));
    }

    [Fact]
    public async Task What_a_sqlite_trigger_reads_is_read_by_the_statement_that_fires_it()
    {
        // The reader's INSERT names only requests; its trigger copies the accounts' total.
        await using var db = await ViewsAsync();
        await db.SqliteAsync("""
            CREATE TABLE requests (id INTEGER PRIMARY KEY, total INTEGER);
            CREATE TRIGGER requests_total AFTER INSERT ON requests BEGIN
                UPDATE requests SET total = (SELECT sum(balance) FROM accounts) WHERE id = NEW.id;
            END;
            """);
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable, RouteViews);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable, RouteViews);

        Assert.Equal(5, await reader.ReadAsync(Db.Postgres, "SELECT sum(amount) FROM orders"));
        await writer.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
        await writer.WriteAsync(Db.Postgres, "UPDATE orders SET amount = amount + 10 WHERE id = 100");
        await writer.CommitAsync();
        await reader.WriteAsync(Db.Sqlite, "INSERT INTO requests (id) VALUES (1)");
        await reader.CommitAsync();

        Assert.True(writer.Committed);
        AssertSerializationFailure(reader);
        Assert.Equal(0L, Convert.ToInt64(await db.SqliteScalarAsync("SELECT count(*) FROM requests")));
    }

    [Fact]
    public async Task A_postgres_function_whose_body_reads_a_table_makes_its_statement_read_anything()
    {
        // The statement names shop_notes only; the function, which no plan sees into, reads orders.
        await using var db = await ViewsAsync();
        await db.PostgresAsync("CREATE FUNCTION order_total() RETURNS bigint LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN (SELECT sum(amount) FROM orders); END $$");
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable);

        Assert.Equal(5, await reader.ReadAsync(Db.Postgres, "SELECT order_total() FROM shop_notes WHERE id = 1")); // PostgreSQL snapshot: before the writer
        await writer.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
        await writer.WriteAsync(Db.Postgres, "UPDATE orders SET amount = amount + 10 WHERE id = 100");
        await writer.CommitAsync();
        Assert.Equal(140, await reader.ReadAsync(Db.Sqlite, "SELECT sum(balance) FROM accounts")); // SQLite snapshot: after it
        await reader.CommitAsync();

        Assert.True(writer.Committed);
        AssertSerializationFailure(reader);
    }

    [Theory]
    [InlineData("SELECT sum(amount) * one() FROM order_amounts WHERE amount > @min")]
    [InlineData("SELECT sum(amount) FROM orders_over_one WHERE amount > @min")]
    public async Task A_postgres_view_read_with_a_function_call_stays_a_read_of_the_whole_backend(string sql)
    {
        // As the view read that commits beside an unrelated write, but the statement, or the view
        // it reads, also calls a user function: a read of the whole backend again, so the note
        // closes the cycle. The function is IMMUTABLE: the planner runs it and leaves no trace of it.
        await using var db = await ViewsAsync();
        await db.PostgresAsync("""
            CREATE FUNCTION one() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN 1; END $$;
            CREATE VIEW orders_over_one AS SELECT id, amount FROM order_amounts WHERE amount >= one();
            """);
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable, RouteViews);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable, RouteViews);

        Assert.Equal(100, await reader.ReadAsync(Db.Sqlite, "SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(5, await reader.ReadAsync(Db.Postgres, sql, ("min", 0))); // PostgreSQL snapshot: before the writer
        Assert.Equal(100, await writer.ReadAsync(Db.Sqlite, "SELECT balance FROM accounts WHERE id = 1"));
        await writer.WriteAsync(Db.Postgres, "INSERT INTO shop_notes (id, body) VALUES (2, 'unrelated')");
        await writer.CommitAsync();
        await reader.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = 95 WHERE id = 1");
        await reader.CommitAsync();

        Assert.True(writer.Committed);
        AssertSerializationFailure(reader);
    }

    [Fact]
    public async Task Each_backend_parses_a_statement_text_once()
    {
        await using var db = await ViewsAsync();
        await using var connection = await db.OpenAsync(RouteViews);
        var sqlite = connection.Runtime.Backends.OfType<SqliteBackend>().Single().StatementAnalyzer;
        var postgres = connection.Runtime.Backends.OfType<PostgresBackend>().Single().ReadProbe;
        var (sqliteBefore, postgresBefore) = (sqlite.ReadProbes, postgres.Probes);

        for (var i = 0; i < 3; i++)
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.Serializable);
            Assert.Equal(150L, Convert.ToInt64(await AtomicCommitTests.Scalar(connection, "SELECT sum(balance) FROM account_balances")));
            await using (var command = new KhonsuCommand("SELECT sum(amount) FROM order_amounts WHERE amount > @min", connection))
            {
                command.Parameters.AddWithValue("min", i);
                Assert.Equal(5L, Convert.ToInt64(await command.ExecuteScalarAsync()));
            }

            Assert.Equal(5L, Convert.ToInt64(await AtomicCommitTests.Scalar(connection, "SELECT amount FROM orders WHERE id = 100")));
            await transaction.CommitAsync();
        }

        // One probe per text: the SQLite view; the PostgreSQL view. A PostgreSQL statement that
        // names only tables and calls nothing is never probed (its plan could add nothing).
        Assert.Equal((1, 1), (sqlite.ReadProbes - sqliteBefore, postgres.Probes - postgresBefore));
    }

    /// <summary>Each view's backend named by Route.x: a view is no table, whichever way it is routed.</summary>
    private const string RouteViews = ";Route.order_amounts=shop;Route.orders_over_one=shop;Route.account_balances=ledger";

    /// <summary>
    /// No route: the catalogs' views route the statements. Were a view taken for a table, the
    /// reads through it would conflict with no write to its base table and the failing cases commit.
    /// </summary>
    private const string CatalogViews = "";

    /// <summary>The ledger and shop, with a view on each and a table beside each that the views do not read.</summary>
    private static async Task<TwoDatabases> ViewsAsync()
    {
        var db = await TwoDatabases.CreateAsync();
        await db.SqliteAsync("CREATE VIEW account_balances AS SELECT id, balance FROM accounts; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'first');");
        await db.PostgresAsync("CREATE VIEW order_amounts AS SELECT id, amount FROM orders; CREATE TABLE shop_notes (id integer PRIMARY KEY, body text); INSERT INTO shop_notes VALUES (1, 'first');");
        return db;
    }
}
