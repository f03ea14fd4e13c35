using Khonsu.TestSupport;

namespace Khonsu.Data.Tests;

/// <summary>
/// A database belongs to one commit log. The first runtime records its log in the database; a
/// runtime with another log is refused at open (here while a real process of the first log runs),
/// and recovery, even where no log is recorded, settles only the prepared transactions its own log
/// marked (their gids carry the log's tag).
/// </summary>
public class LogFenceTests
{
    [Fact]
    public async Task A_runtime_with_another_log_is_refused_while_a_process_of_the_first_log_runs()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await InstallAsync(db);
        await using var holder = await CrashChild.StopAtAsync(db.ConnectionString(), "AfterParticipantPrepared", 2, amount: 10);
        var otherLog = db.Directory.File("other-log.db");

        var refused = await Assert.ThrowsAsync<KhonsuException>(() => OpenAsync(WithLog(db, otherLog)));

        Assert.Equal("55000", refused.SqlState);
        Assert.False(refused.IsTransient);
        Assert.StartsWith($"Backend 'ledger' (Sqlite, data source={db.SqlitePath}) belongs to another commit log: it records embedded log {db.LogPath} (log id ", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"this connection string's log is embedded log {otherLog} (log id ", refused.Message, StringComparison.Ordinal);
        Assert.Contains("khonsu log adopt --from <old log>", refused.Message, StringComparison.Ordinal);

        // The first log's process is unharmed: its transaction is still prepared, as it left it.
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }

    [Fact]
    public async Task A_postgres_database_alone_is_refused_to_a_second_log_naming_it()
    {
        await using var db = await TwoDatabases.CreateAsync();
        const string Password = "fence-secret-7"; // the test server trusts local connections: never checked, never to be shown
        var shop = db.Postgres.ConnectionString + ";Password=" + Password;
        var first = $"Khonsu:Postgres.shop=\"{shop}\";Log=\"{db.Directory.File("first.db")}\";RecoveryInterval=0";
        var second = $"Khonsu:Postgres.shop=\"{shop}\";Log=\"{db.Directory.File("second.db")}\";RecoveryInterval=0";
        await using (var connection = await OpenAsync(first))
        {
            await KhonsuConnection.ClearPoolAsync(connection);
        }

        var refused = await Assert.ThrowsAsync<KhonsuException>(() => OpenAsync(second));

        Assert.StartsWith($"Backend 'shop' (Postgres, host=", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"database={db.Postgres.Name}) belongs to another commit log: it records embedded log {db.Directory.File("first.db")}", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, refused.ToString(), StringComparison.Ordinal);
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM khonsu.log_owner"));
    }

    [Fact]
    public async Task Recovery_settles_only_the_prepared_transactions_of_its_own_log()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await InstallAsync(db);
        var transactionId = await CrashChild.KillAtAsync(db.ConnectionString(), "AfterParticipantPrepared", 2, amount: 25);

        // As if nothing recorded the databases' log (a build from before fencing, or Schema=Manual
        // before the install): a runtime of another log opens, with a lease long over.
        await ForgetLogAsync(db);
        var other = WithLog(db, db.Directory.File("other-log.db")) + ";PrepareLease=0.001";
        await using (var stranger = await OpenAsync(other))
        {
            Assert.Empty(await stranger.Runtime.Backends.Single(b => b.Name == "shop").CreateRecoveryResource().ListPreparedAsync(CancellationToken.None));
            await stranger.RecoverAsync();
            Assert.Equal(1L, await db.PostgresScalarAsync($"SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'khonsu:%:{transactionId}'"));
            await KhonsuConnection.ClearPoolAsync(stranger);
        }

        // Its own log settles it (at once: that log's holder knows no one else can decide it).
        await ForgetLogAsync(db);
        await using var own = await db.OpenAsync();
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.Equal(["shop:ABORTED:ABORT"], await db.TransactionLogAsync(transactionId)); // the participant it found prepared
    }

    private static string WithLog(TwoDatabases db, string log) => db.ConnectionString().Replace(db.LogPath, log, StringComparison.Ordinal);

    private static async Task<KhonsuConnection> OpenAsync(string connectionString)
    {
        var connection = new KhonsuConnection(connectionString);
        try
        {
            await connection.OpenAsync();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task ForgetLogAsync(TwoDatabases db)
    {
        await db.SqliteAsync("DELETE FROM khonsu_log_owner");
        await db.PostgresAsync("DELETE FROM khonsu.log_owner");
    }

    /// <summary>Opens once so that Khonsu installs its schema (and claims the databases for the log), then lets the runtime go.</summary>
    private static async Task InstallAsync(TwoDatabases db)
    {
        await using var install = await db.OpenAsync();
        await KhonsuConnection.ClearPoolAsync(install);
    }
}
