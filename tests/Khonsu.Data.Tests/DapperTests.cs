using System.Data;
using Dapper;

namespace Khonsu.Data.Tests;

public class DapperTests
{
    [Fact]
    public async Task Query_maps_rows_from_each_backend()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        var accounts = (await connection.QueryAsync<Account>("SELECT id AS Id, owner AS Owner, balance AS Balance FROM accounts ORDER BY id")).ToList();
        var order = await connection.QuerySingleAsync<Order>("SELECT id AS Id, account_id AS AccountId, amount AS Amount FROM orders WHERE id = @id", new { id = 100 });

        Assert.Equal([new Account(1, "ada", 100), new Account(2, "bob", 50)], accounts);
        Assert.Equal(new Order(100, 1, 5), order);
    }

    [Fact]
    public async Task Sync_api_works_too()
    {
        await using var db = await TwoDatabases.CreateAsync();
        using var connection = new KhonsuConnection(db.ConnectionString());

        // Dapper opens the closed connection and closes it again when done.
        var owner = connection.QuerySingle<string>("SELECT owner FROM accounts WHERE id = @id", new { id = 2 });

        Assert.Equal("bob", owner);
        Assert.Equal(ConnectionState.Closed, connection.State);
    }

    [Fact]
    public async Task Execute_with_parameters_and_a_transaction_commits_on_both()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync("UPDATE accounts SET balance = balance - @amount WHERE id = @id", new { amount = 30, id = 1 }, transaction);
            await connection.ExecuteAsync("INSERT INTO orders (id, account_id, amount) VALUES (@id, @account, @amount)", new { id = 200, account = 1, amount = 30 }, transaction);
            await transaction.CommitAsync();
        }

        Assert.Equal(70L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(30, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 200"));
    }

    [Fact]
    public async Task Execute_with_a_list_of_parameter_objects_runs_once_per_item()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        var inserted = await connection.ExecuteAsync(
            "INSERT INTO orders (id, account_id, amount) VALUES (@Id, @AccountId, @Amount)",
            new[] { new Order(300, 1, 1), new Order(301, 2, 2) });

        Assert.Equal(2, inserted);
        Assert.Equal(3L, await db.PostgresScalarAsync("SELECT sum(amount) FROM orders WHERE id >= 300"));
    }

    [Fact]
    public async Task In_list_expansion_works_on_both_backends()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        var owners = await connection.QueryAsync<string>("SELECT owner FROM accounts WHERE id IN @ids ORDER BY id", new { ids = new[] { 1, 2 } });
        var amounts = await connection.QueryAsync<int>("SELECT amount FROM orders WHERE id IN @ids", new { ids = new[] { 100, 999 } });

        Assert.Equal(["ada", "bob"], owners);
        Assert.Equal([5], amounts);
    }

    [Fact]
    public async Task QueryMultiple_reads_several_result_sets_from_one_backend()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await using var results = await connection.QueryMultipleAsync("SELECT count(*) FROM orders; SELECT amount FROM orders WHERE id = 100");

        Assert.Equal(1L, await results.ReadSingleAsync<long>());
        Assert.Equal(5, await results.ReadSingleAsync<int>());
    }

    [Fact]
    public async Task ExecuteScalar_after_a_statement_without_rows_returns_the_query_value()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        var sqliteId = await connection.ExecuteScalarAsync<long>("INSERT INTO accounts (owner, balance) VALUES ('cy', 1); SELECT last_insert_rowid()", transaction: transaction);
        var postgresId = await connection.ExecuteScalarAsync<int>("INSERT INTO orders VALUES (120, 1, 1); SELECT max(id) FROM orders", transaction: transaction);
        var returned = await connection.ExecuteScalarAsync<int>("INSERT INTO orders VALUES (121, 1, 1) RETURNING id", transaction: transaction);
        await transaction.CommitAsync();

        Assert.Equal(3L, sqliteId);
        Assert.Equal(120, postgresId);
        Assert.Equal(121, returned);
    }

    [Fact]
    public async Task Field_types_are_the_inner_providers()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await using var sqlite = await connection.ExecuteReaderAsync("SELECT id, owner FROM accounts");
        Assert.Equal(typeof(long), sqlite.GetFieldType(0));
        await using var postgres = await connection.ExecuteReaderAsync("SELECT id, amount FROM orders");
        Assert.Equal(typeof(int), postgres.GetFieldType(0));
    }

    [Fact]
    public async Task Errors_from_a_database_reach_the_application_as_its_own_exception()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();

        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => connection.ExecuteAsync("INSERT INTO orders VALUES (100, 1, 1)"));
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => connection.ExecuteAsync("INSERT INTO accounts (id, owner, balance) VALUES (1, 'x', 1)"));
    }

    [Fact]
    public async Task Async_queries_inside_a_transaction_read_tracked_rows_from_PostgreSQL()
    {
        // Dapper's async queries ask for CommandBehavior.SequentialAccess; read tracking reads the
        // key and version columns of each row first, which a sequential Npgsql reader refuses.
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        // SELECT * carries the key and the version column, so the rows are tracked one by one.
        var order = await connection.QuerySingleAsync<OrderRow>("SELECT * FROM orders WHERE id = @id", new { id = 100 }, transaction);
        var all = (await connection.QueryAsync<OrderRow>("SELECT * FROM orders", transaction: transaction)).ToList();
        await transaction.CommitAsync();

        Assert.Equal(5, order.Amount);
        Assert.Equal([100], all.Select(o => o.Id));
    }

    public sealed record Account(long Id, string Owner, long Balance);

    public sealed record Order(int Id, int AccountId, int Amount);

    public sealed class OrderRow
    {
        public int Id { get; set; }

        public int Amount { get; set; }
    }
}
