namespace Khonsu.Data.Tests.Conformance;

/// <summary>DbTransaction's contract, case by case on the raw providers and on Khonsu over each.</summary>
public class TransactionConformanceTests
{
    [Theory]
    [InlineData(Provider.Sqlite)] // Npgsql keeps Connection set until the transaction is disposed
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task Connection_is_null_once_the_transaction_has_committed_or_rolled_back(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var connection = await provider.OpenConnectionAsync();
        await using (var committed = await connection.BeginTransactionAsync())
        {
            Assert.Same(connection, committed.Connection);
            await committed.CommitAsync();
            Assert.Null(committed.Connection);
        }

        await using var rolledBack = await connection.BeginTransactionAsync();
        await rolledBack.RollbackAsync();
        Assert.Null(rolledBack.Connection);
    }

    [Theory]
    [MemberData(nameof(Provider.All), MemberType = typeof(Provider))]
    public async Task Commit_or_Rollback_twice_throws_InvalidOperationException(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var connection = await provider.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await transaction.CommitAsync();
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => transaction.CommitAsync());
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => transaction.RollbackAsync());
    }

    [Theory]
    [InlineData(Provider.Postgres)] // Microsoft.Data.Sqlite throws InvalidOperationException, which ObjectDisposedException is too
    [InlineData(Provider.KhonsuSqlite)]
    [InlineData(Provider.KhonsuPostgres)]
    public async Task Commit_or_Rollback_after_Dispose_throws_ObjectDisposedException(string name)
    {
        await using var provider = await Provider.CreateAsync(name);
        await using var connection = await provider.OpenConnectionAsync();
        var transaction = await connection.BeginTransactionAsync();
        await transaction.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(transaction.Commit);
        Assert.Throws<ObjectDisposedException>(transaction.Rollback);
    }
}
