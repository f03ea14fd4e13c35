using System.Data;
using static Khonsu.Data.Tests.AtomicCommitTests;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>PostgreSQL participants run at REPEATABLE READ unless PostgresIsolation=Serializable asks for PostgreSQL's own SSI too.</summary>
public class PostgresIsolationTests
{
    [Theory]
    [InlineData("", IsolationLevel.Serializable, "repeatable read")]
    [InlineData(";PostgresIsolation=Serializable", IsolationLevel.Serializable, "serializable")]
    [InlineData(";PostgresIsolation=Serializable", IsolationLevel.Snapshot, "repeatable read")]
    [InlineData(";PostgresIsolation=RepeatableRead", IsolationLevel.Serializable, "repeatable read")]
    public async Task Participants_run_at_the_configured_level(string extra, IsolationLevel level, string expected)
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(extra);
        await using var transaction = await connection.BeginTransactionAsync(level);

        Assert.Equal(expected, await Scalar(connection, "SELECT current_setting('transaction_isolation') FROM orders LIMIT 1"));
        await transaction.CommitAsync();
    }
}
