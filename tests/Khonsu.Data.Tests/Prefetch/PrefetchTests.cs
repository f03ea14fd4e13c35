using Khonsu.Data.Prefetch;

namespace Khonsu.Data.Tests.Prefetch;

/// <summary>
/// Prefetching inside a transaction (Prefetch=On), against real SQLite (ledger: accounts) and
/// PostgreSQL (shop: orders, customers): what is served is what the database would have returned
/// at that point, a write or a savepoint rollback drops what it could change, and a read the
/// application never makes adds no conflict.
/// </summary>
public class PrefetchTests
{
    private const string OrderById = "SELECT id, account_id, amount, version FROM orders WHERE id = @id";
    private const string AccountById = "SELECT id, owner, balance, version FROM accounts WHERE id = @id";
    private const string CustomerById = "SELECT id, name, version FROM customers WHERE id = @id";

    [Fact]
    public async Task A_predicted_read_on_another_backend_is_served_with_what_the_database_holds()
    {
        await using var db = await CreateAsync();
        await using var connection = await db.OpenAsync(";Prefetch=On");
        await TrainOrderThenAccountAsync(connection);

        await using var transaction = await connection.BeginTransactionAsync();
        var order = await ReadAsync(connection, OrderById, 100);
        var account = await ReadAsync(connection, AccountById, order[0][1]);

        Assert.Equal(1, transaction.Prefetch!.Served);
        Assert.Equal(new object[] { 1L, "ada", 100L }, account[0].Take(3));
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task A_write_of_the_transaction_on_that_backend_drops_the_held_result()
    {
        await using var db = await CreateAsync();
        await using var connection = await db.OpenAsync(";Prefetch=On");
        await TrainOrderThenAccountAsync(connection);

        await using var transaction = await connection.BeginTransactionAsync();
        var order = await ReadAsync(connection, OrderById, 100);
        Assert.Equal(1, transaction.Prefetch!.Issued);
        await ExecuteAsync(connection, "UPDATE accounts SET balance = 7 WHERE id = 1");
        var account = await ReadAsync(connection, AccountById, order[0][1]);

        Assert.Equal(7L, account[0][2]);
        Assert.Equal(0, transaction.Prefetch.Served);
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task A_read_prefetched_after_the_transactions_own_write_sees_it()
    {
        await using var db = await CreateAsync();
        await using var connection = await db.OpenAsync(";Prefetch=On");
        await TrainOrderThenAccountAsync(connection);

        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, "UPDATE accounts SET balance = 8 WHERE id = 1");
        var order = await ReadAsync(connection, OrderById, 100);
        var account = await ReadAsync(connection, AccountById, order[0][1]);

        Assert.Equal(1, transaction.Prefetch!.Served);
        Assert.Equal(8L, account[0][2]);
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task Rolling_back_to_a_savepoint_drops_what_was_prefetched_after_it()
    {
        await using var db = await CreateAsync();
        await using var connection = await db.OpenAsync(";Prefetch=On");
        await TrainOrderThenAccountAsync(connection);

        await using var transaction = await connection.BeginTransactionAsync();
        await transaction.SaveAsync("before");
        await ExecuteAsync(connection, "UPDATE accounts SET balance = 9 WHERE id = 1");
        var order = await ReadAsync(connection, OrderById, 100); // prefetches the account, balance 9
        Assert.Equal(1, transaction.Prefetch!.Issued);
        await transaction.RollbackAsync("before");
        var account = await ReadAsync(connection, AccountById, order[0][1]);

        Assert.Equal(100L, account[0][2]);
        Assert.Equal(0, transaction.Prefetch.Served);
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task A_read_predicted_but_never_made_adds_no_conflict()
    {
        await using var db = await CreateAsync();
        await using var connection = await db.OpenAsync(";Prefetch=On");
        await TrainAccountThenCustomerAsync(connection);

        var transaction = await WriteSkewAsync(db, connection, readCustomer: false);

        Assert.Equal(1, transaction.Prefetch!.Issued);
        await transaction.CommitAsync();
        Assert.Equal(6, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task A_prefetched_read_the_application_makes_is_in_the_read_set()
    {
        await using var db = await CreateAsync();
        await using var connection = await db.OpenAsync(";Prefetch=On");
        await TrainAccountThenCustomerAsync(connection);

        var transaction = await WriteSkewAsync(db, connection, readCustomer: true);

        Assert.Equal(1, transaction.Prefetch!.Served);
        var error = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());
        Assert.Equal("40001", error.SqlState);
    }

    [Fact]
    public async Task A_prefetch_that_fails_leaves_the_transaction_usable()
    {
        await using var db = await CreateAsync();
        await using var connection = await db.OpenAsync(";Prefetch=On");
        const string Ratio = "SELECT id, 100 / amount FROM orders WHERE id = @id";
        for (var i = 0; i < 4; i++)
        {
            await using var training = await connection.BeginTransactionAsync();
            await ReadAsync(connection, AccountById, 1);
            await ReadAsync(connection, Ratio, 100);
            await training.CommitAsync();
        }

        await db.PostgresAsync("UPDATE orders SET amount = 0 WHERE id = 100");
        await using var transaction = await connection.BeginTransactionAsync();
        await ReadAsync(connection, AccountById, 1); // prefetches the ratio, which divides by zero
        Assert.Equal(1, transaction.Prefetch!.Issued);
        var order = await ReadAsync(connection, OrderById, 100);

        Assert.Equal(0, order[0][2]);
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task The_model_is_saved_when_the_runtime_closes_and_restored_when_it_opens()
    {
        await using var db = await CreateAsync();
        var state = db.Directory.File("prefetch.bin");
        var settings = $";Prefetch=On;PrefetchState={state}";
        await using (var connection = await db.OpenAsync(settings))
        {
            await TrainOrderThenAccountAsync(connection);
        }

        Assert.False(File.Exists(state));
        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(db.ConnectionString(settings)));
        Assert.True(File.Exists(state));

        await using var reopened = await db.OpenAsync(settings);
        Assert.Equal(2, reopened.Runtime.Prefetch!.Model.TemplateCount);
    }

    [Fact]
    public async Task Without_the_setting_nothing_is_prefetched()
    {
        await using var db = await CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        Assert.Null(transaction.Prefetch);
        await transaction.CommitAsync();
    }

    /// <summary>
    /// T reads account 1 (the model prefetches customer 1 on PostgreSQL), W reads order 100 and
    /// changes customer 1, and commits; T then changes order 100. W -rw-> T; had T read customer 1,
    /// T -rw-> W too: a cycle, so T would abort. T is returned before its commit.
    /// </summary>
    private static async Task<KhonsuTransaction> WriteSkewAsync(TwoDatabases db, KhonsuConnection connection, bool readCustomer)
    {
        var transaction = await connection.BeginTransactionAsync();
        await ReadAsync(connection, AccountById, 1);
        await using (var other = await db.OpenAsync(";Prefetch=On"))
        {
            await using var writer = await other.BeginTransactionAsync();
            await ReadAsync(other, OrderById, 100);
            await ExecuteAsync(other, "UPDATE customers SET name = 'changed' WHERE id = 1");
            await writer.CommitAsync();
        }

        if (readCustomer)
        {
            Assert.Equal("ada ltd", (await ReadAsync(connection, CustomerById, 1))[0][1]);
        }

        await ExecuteAsync(connection, "UPDATE orders SET amount = 6 WHERE id = 100");
        return transaction;
    }

    private static async Task<TwoDatabases> CreateAsync()
    {
        var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 2, 3), (102, 1, 4), (103, 2, 5), (104, 1, 6); CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL); INSERT INTO customers VALUES (1, 'ada ltd'), (2, 'bob inc')");
        return db;
    }

    /// <summary>Four transactions that read an order, then its account: the model learns that the account's id is the order's column 1.</summary>
    private static async Task TrainOrderThenAccountAsync(KhonsuConnection connection)
    {
        for (var id = 101; id <= 104; id++)
        {
            await using var training = await connection.BeginTransactionAsync();
            var order = await ReadAsync(connection, OrderById, id);
            await ReadAsync(connection, AccountById, order[0][1]);
            await training.CommitAsync();
        }
    }

    /// <summary>Four transactions that read an account, then the customer of the same id.</summary>
    private static async Task TrainAccountThenCustomerAsync(KhonsuConnection connection)
    {
        foreach (var id in new[] { 1, 2, 1, 2 })
        {
            await using var training = await connection.BeginTransactionAsync();
            await ReadAsync(connection, AccountById, id);
            await ReadAsync(connection, CustomerById, id);
            await training.CommitAsync();
        }
    }

    private static async Task<List<object[]>> ReadAsync(KhonsuConnection connection, string sql, object id)
    {
        await using var command = new KhonsuCommand(sql, connection);
        command.Parameters.Add(new KhonsuParameter("id", id));
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object[]>();
        while (await reader.ReadAsync())
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(values);
        }

        return rows;
    }

    private static async Task ExecuteAsync(KhonsuConnection connection, string sql)
    {
        await using var command = new KhonsuCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
