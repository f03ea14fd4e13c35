using Khonsu.Data;
using Khonsu.TestSupport;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Khonsu.Ecosystem.Tests.Logging;

public class LoggingTests
{
    private const string Password = "correct-horse-battery-staple-7731";

    [Fact]
    public async Task Commits_rollbacks_and_aborts_are_logged_at_Debug_and_no_line_holds_the_password()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        var capture = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddProvider(capture).SetMinimumLevel(LogLevel.Trace));
        // The test server trusts local connections, so the password is carried but never checked.
        var shop = new NpgsqlConnectionStringBuilder(db.Postgres.ConnectionString) { Password = Password }.ConnectionString;
        await using var dataSource = new KhonsuDataSourceBuilder()
            .AddSqlite("ledger", db.SqliteConnectionString)
            .AddPostgres("shop", shop)
            .Log(db.LogPath)
            .RecoveryInterval(TimeSpan.Zero)
            .UseLoggerFactory(loggerFactory)
            .Build();
        Assert.Contains(Password, dataSource.ConnectionString, StringComparison.Ordinal);
        db.Track(dataSource.ConnectionString);

        string committed, rolledBack, aborted;
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await using (var transaction = await connection.BeginTransactionAsync())
            {
                await Execute(connection, "UPDATE accounts SET balance = balance - 1 WHERE id = 1");
                await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (300, 1, 1)");
                await transaction.CommitAsync();
                committed = transaction.TransactionId;
            }

            await using (var transaction = await connection.BeginTransactionAsync())
            {
                await Execute(connection, "UPDATE accounts SET balance = 0 WHERE id = 2");
                await transaction.RollbackAsync();
                rolledBack = transaction.TransactionId;
            }

            await using (var transaction = await connection.BeginTransactionAsync())
            {
                await Execute(connection, "SELECT id, amount, version FROM orders WHERE id = 100");
                await db.PostgresAsync("UPDATE orders SET amount = 9 WHERE id = 100");
                await Execute(connection, "UPDATE accounts SET balance = 1 WHERE id = 2");
                aborted = transaction.TransactionId;
                var conflict = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());
                Assert.True(conflict.IsTransient);
            }
        }

        var lines = capture.Lines.Where(l => l.Category == "Khonsu").ToList();
        Assert.Contains(lines, l => l.Level == LogLevel.Information && l.Message.Contains("ledger (Sqlite), shop (Postgres)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Level == LogLevel.Debug && l.Message.Contains($"Transaction {committed} committed on 2 backend(s)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Level == LogLevel.Debug && l.Message.Contains($"Transaction {rolledBack} rolled back", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Level == LogLevel.Debug && l.Message.Contains($"Transaction {aborted} aborted at commit", StringComparison.Ordinal));
        Assert.DoesNotContain(capture.Lines, l => l.Everything.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Recovery_logs_what_it_finished_at_Information()
    {
        await using var db = await LedgerAndShop.CreateAsync();
        await using (var install = await db.OpenAsync(";PrepareLease=0.001"))
        {
            // Khonsu is installed (version columns, triggers) before the failure below; then the process "stops".
            await KhonsuConnection.ClearPoolAsync(install);
        }

        var stranded = Khonsu.Engine.TransactionId.New();
        // A participant left prepared by a coordinator that died before logging a decision.
        await db.PostgresAsync($"BEGIN; INSERT INTO orders (id, account_id, amount) VALUES (500, 1, 1); PREPARE TRANSACTION 'khonsu:{stranded}'");
        var capture = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddProvider(capture).SetMinimumLevel(LogLevel.Information));

        await using (var dataSource = KhonsuDataSource.Create(db.Track(db.ConnectionString(";PrepareLease=0.001")), loggerFactory))
        {
            await using var connection = await dataSource.OpenConnectionAsync();
        }

        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 500"));
        var recovered = Assert.Single(capture.Lines, l => l.EventId == 1010);
        Assert.Equal(LogLevel.Information, recovered.Level);
        Assert.Equal("Recovery finished 0 in-doubt transaction(s) as committed and 1 as aborted", recovered.Message);
        Assert.DoesNotContain(capture.Lines, l => l.Level == LogLevel.Debug);
    }

    private static async Task Execute(KhonsuConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
        }
    }
}
