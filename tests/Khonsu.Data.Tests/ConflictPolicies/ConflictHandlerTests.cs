using System.Collections.Concurrent;
using static Khonsu.Data.Tests.AtomicCommitTests;
using static Khonsu.Data.Tests.ConflictPolicies.ConflictPolicyTests;

namespace Khonsu.Data.Tests.ConflictPolicies;

/// <summary>The application's handler chooses the policy per conflict, over the tables' configured ones.</summary>
public class ConflictHandlerTests
{
    [Fact]
    public async Task The_handler_chooses_per_conflict_and_sees_backend_table_and_statement()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await db.PostgresAsync("INSERT INTO orders VALUES (101, 1, 5)");
        var seen = new ConcurrentQueue<KhonsuWriteConflict>();
        await using var source = Builder(db)
            .ConflictPolicy("orders", KhonsuConflictPolicy.Ignore)
            .OnWriteConflict(conflict =>
            {
                seen.Enqueue(conflict);
                return conflict.Statement.Contains("id = 101", StringComparison.Ordinal) ? KhonsuConflictPolicy.Replace : conflict.ConfiguredPolicy;
            })
            .Build();

        await using var connection = await source.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await TakePostgresSnapshotAsync(connection);
        await using (var other = await source.OpenConnectionAsync())
        await using (var concurrent = await other.BeginTransactionAsync())
        {
            Assert.Equal(2, await Execute(other, "UPDATE orders SET amount = 7 WHERE id IN (100, 101)"));
            await concurrent.CommitAsync();
        }

        Assert.Equal(0, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));
        Assert.Equal(1, await Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 101"));
        await transaction.CommitAsync();

        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
        Assert.Equal(9, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 101"));
        Assert.Collection(
            seen,
            first => Assert.Equal(
                new KhonsuWriteConflict(transaction.TransactionId, "shop", "orders", null, null, "UPDATE orders SET amount = 9 WHERE id = 100", KhonsuConflictPolicy.Ignore),
                first),
            second => Assert.Equal("UPDATE orders SET amount = 9 WHERE id = 101", second.Statement));
    }

    [Fact]
    public async Task A_handler_that_throws_fails_the_statement_with_its_exception_inside()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var thrown = new InvalidOperationException("no policy for you");
        await using var source = Builder(db).OnWriteConflict(_ => throw thrown).Build();

        await using var connection = await source.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await TakePostgresSnapshotAsync(connection);
        await using (var other = await source.OpenConnectionAsync())
        {
            Assert.Equal(1, await Execute(other, "UPDATE orders SET amount = 7 WHERE id = 100"));
        }

        var error = await Assert.ThrowsAsync<KhonsuException>(() => Execute(connection, "UPDATE orders SET amount = 9 WHERE id = 100"));

        Assert.Same(thrown, error.InnerException);
        Assert.Contains("'shop'", error.Message, StringComparison.Ordinal);
        await transaction.RollbackAsync();
        Assert.Equal(7, await db.PostgresScalarAsync("SELECT amount FROM orders WHERE id = 100"));
    }

    internal static KhonsuDataSourceBuilder Builder(TwoDatabases db)
        => new KhonsuDataSourceBuilder()
            .AddSqlite("ledger", db.SqliteConnectionString)
            .AddPostgres("shop", db.Postgres.ConnectionString)
            .Log(db.LogPath)
            .RecoveryInterval(TimeSpan.Zero);
}
