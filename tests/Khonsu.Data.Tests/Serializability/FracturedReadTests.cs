using System.Data;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>
/// Backends are opened lazily, so a transaction's snapshots on two backends are taken at different
/// moments. A transaction that committed in between may be visible on one and not the other; with
/// whole-table reads (aggregates) no database can tell, so the certifier must.
/// </summary>
public class FracturedReadTests
{
    [Fact]
    public async Task A_reader_that_may_have_seen_half_of_a_commit_through_aggregates_fails()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var reader = await KhonsuSession.BeginAsync(db, "reader", IsolationLevel.Serializable);
        await using var writer = await KhonsuSession.BeginAsync(db, "writer", IsolationLevel.Serializable);

        var orders = await reader.ReadAsync(Db.Postgres, "SELECT sum(amount) FROM orders"); // PostgreSQL snapshot: before the writer
        await writer.WriteAsync(Db.Sqlite, "UPDATE accounts SET balance = balance - 10 WHERE id = 1");
        await writer.WriteAsync(Db.Postgres, "UPDATE orders SET amount = amount + 10 WHERE id = 100");
        await writer.CommitAsync();
        var balances = await reader.ReadAsync(Db.Sqlite, "SELECT sum(balance) FROM accounts"); // SQLite snapshot: after it
        await reader.CommitAsync();

        Assert.Equal((5L, 140L), (orders, balances)); // money vanished, as the reader saw it
        Assert.True(writer.Committed);
        AnomalyTests.AssertSerializationFailure(reader);
        Assert.Contains("fractured read", reader.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains(writer.TransactionId, reader.Failure.Message, StringComparison.Ordinal);
    }
}
