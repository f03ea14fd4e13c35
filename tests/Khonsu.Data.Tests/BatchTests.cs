using System.Data.Common;

namespace Khonsu.Data.Tests;

/// <summary>DbBatch: statements run in order, each routed by its own tables, in the connection's transaction.</summary>
public class BatchTests
{
    [Fact]
    public async Task A_batch_across_both_backends_commits_with_its_transaction_and_reports_rows_per_statement()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        Assert.True(connection.CanCreateBatch);
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = connection.CreateBatch();
        batch.BatchCommands.Add(Statement("UPDATE accounts SET balance = balance - @amount WHERE id = 1", ("amount", 30)));
        batch.BatchCommands.Add(Statement("INSERT INTO orders (id, account_id, amount) VALUES (@id, 1, @amount)", ("id", 200), ("amount", 30)));
        batch.BatchCommands.Add(Statement("UPDATE orders SET amount = amount WHERE id > 1000"));

        Assert.Equal(2, await batch.ExecuteNonQueryAsync());
        Assert.Equal([1, 1, 0], batch.BatchCommands.Select(c => c.RecordsAffected));
        await transaction.CommitAsync();

        Assert.Equal(70L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(30, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 200"));
    }

    [Fact]
    public async Task A_rolled_back_batch_leaves_both_backends_unchanged()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var batch = new KhonsuBatch(connection) { Transaction = transaction };
            batch.BatchCommands.Add(Statement("UPDATE accounts SET balance = 0 WHERE id = 1"));
            batch.BatchCommands.Add(Statement("DELETE FROM orders WHERE id = 100"));
            await batch.ExecuteNonQueryAsync();
            await transaction.RollbackAsync();
        }

        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task A_batch_reader_moves_from_one_statements_results_to_the_next()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var batch = connection.CreateBatch();
        batch.BatchCommands.Add(Statement("SELECT owner FROM accounts ORDER BY id"));
        batch.BatchCommands.Add(Statement("SELECT amount FROM orders WHERE id = @id", ("id", 100)));

        await using var reader = await batch.ExecuteReaderAsync();
        var owners = new List<string>();
        while (await reader.ReadAsync())
        {
            owners.Add(reader.GetString(0));
        }

        Assert.True(await reader.NextResultAsync());
        Assert.True(await reader.ReadAsync());
        Assert.Equal(5, reader.GetInt32(0));
        Assert.False(await reader.NextResultAsync());
        Assert.Equal(["ada", "bob"], owners);
    }

    [Fact]
    public async Task A_batch_scalar_is_the_first_statements_value_and_every_statement_runs()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var batch = connection.CreateBatch();
        batch.BatchCommands.Add(Statement("SELECT balance FROM accounts WHERE id = 2"));
        batch.BatchCommands.Add(Statement("UPDATE orders SET amount = 9 WHERE id = 100"));

        Assert.Equal(50L, await batch.ExecuteScalarAsync());
        Assert.Equal(9, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    [Fact]
    public async Task Misuse_fails_with_a_clear_error()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using var batch = connection.CreateBatch();

        var empty = await Assert.ThrowsAsync<InvalidOperationException>(() => batch.ExecuteNonQueryAsync());
        Assert.Contains("no commands", empty.Message, StringComparison.Ordinal);
        var foreign = Assert.Throws<ArgumentException>(() => batch.BatchCommands.Add(new ForeignBatchCommand()));
        Assert.Contains("KhonsuBatchCommand", foreign.Message, StringComparison.Ordinal);
        Assert.True(KhonsuProviderFactory.Instance.CanCreateBatch);
        Assert.IsType<KhonsuBatchCommand>(KhonsuProviderFactory.Instance.CreateBatchCommand());
    }

    private static KhonsuBatchCommand Statement(string sql, params (string Name, object Value)[] parameters)
    {
        var command = new KhonsuBatchCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(new KhonsuParameter(name, value));
        }

        return command;
    }

    private sealed class ForeignBatchCommand : DbBatchCommand
    {
        public override string CommandText { get; set; } = "";

        public override System.Data.CommandType CommandType { get; set; }

        public override int RecordsAffected => 0;

        protected override DbParameterCollection DbParameterCollection => throw new NotSupportedException();
    }
}
