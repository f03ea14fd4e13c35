using System.Globalization;
using Khonsu.Engine;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Log;
using Khonsu.TestSupport;

namespace Khonsu.Data.Tests;

/// <summary>
/// Truncation on real databases (a SQLite file and PostgreSQL, the embedded log): what ended goes
/// (log records, applied-markers; transaction_log rows once past TransactionLogRetention), what
/// recovery has not finished stays, and recovery still finishes it afterwards. Time is moved with
/// the sweeper's clock, never waited for; passes are run by hand.
/// </summary>
public class TruncationTests
{
    [Fact]
    public async Task Ended_transactions_lose_their_log_records_and_markers_and_their_transaction_log_rows_after_the_retention()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        for (var i = 0; i < 5; i++)
        {
            await TransferAsync(connection, 1, 1000 + i);
        }

        Assert.Equal((5L, 5L, 10L, 10L), await CountsAsync(db));

        // Within the minute after they ended: the log keeps their records, the markers go.
        var truncation = connection.Runtime.Truncation;
        var report = await truncation.RunOnceAsync(CancellationToken.None);
        Assert.Equal(new Runtime.TruncationReport(0, 0, 10), report);
        Assert.Equal((0L, 0L, 10L, 10L), await CountsAsync(db));

        truncation.Time = new ShiftedTime(TimeSpan.FromMinutes(2));
        Assert.Equal(new Runtime.TruncationReport(10, 0, 0), await truncation.RunOnceAsync(CancellationToken.None));
        Assert.Equal((0L, 0L, 0L, 10L), await CountsAsync(db));

        truncation.Time = new ShiftedTime(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        Assert.Equal(new Runtime.TruncationReport(0, 10, 0), await truncation.RunOnceAsync(CancellationToken.None));
        Assert.Equal((0L, 0L, 0L, 0L), await CountsAsync(db));

        // The databases are untouched, and Khonsu goes on committing.
        Assert.Equal(95L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        await TransferAsync(connection, 1, 2000);
        Assert.Equal(7L, await db.PostgresScalarAsync("SELECT count(*) FROM orders"));
    }

    [Theory]
    [InlineData(nameof(CommitStep.AfterDecisionLogged), 1)] // SQLite lost its local transaction, PostgreSQL prepared: no marker yet
    [InlineData(nameof(CommitStep.AfterParticipantFinished), 1)] // SQLite committed with its marker, PostgreSQL prepared or (finished at once) committed
    [InlineData(nameof(CommitStep.AfterParticipantFinished), 2)] // both committed with their markers, no end record
    public async Task A_decision_without_its_end_keeps_its_records_and_markers_and_recovery_finishes_it_after_truncation(string stepName, int occurrence)
    {
        var step = Enum.Parse<CommitStep>(stepName); // by name: CommitStep is internal to the engine, a theory public
        await using var db = await TwoDatabases.CreateAsync();
        var connectionString = db.ConnectionString();
        await using (var connection = new KhonsuConnection(connectionString))
        {
            await connection.OpenAsync();
            await TransferAsync(connection, 2, 1000); // ended: its records and markers go
        }

        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
        var stuck = TransactionId.Parse(await CrashChild.KillAtAsync(connectionString, step.ToString(), occurrence, amount: 25));
        var markersBefore = await MarkersOfAsync(db, stuck);
        var finishedAny = step != CommitStep.AfterDecisionLogged;
        Assert.Equal(finishedAny ? 1L : 0L, markersBefore.Sqlite);

        // Participants finish at once: when the first (SQLite) has, PostgreSQL's COMMIT PREPARED may have run too.
        Assert.InRange(markersBefore.Postgres, finishedAny ? occurrence - 1L : 0L, finishedAny ? 1L : 0L);

        // A month later, before any recovery: its markers, its decision and its rows stay; the ended transfer's go.
        await TruncateWithoutRecoveryAsync(connectionString, db.LogPath, TimeSpan.FromDays(30));

        Assert.Equal(markersBefore, await MarkersOfAsync(db, stuck));
        Assert.Equal((markersBefore.Sqlite, markersBefore.Postgres, 1L, 2L), await CountsAsync(db));
        Assert.Equal(1L, Convert.ToInt64(await LogScalarAsync(db, $"SELECT count(*) FROM khonsu_log_unfinished WHERE tx_id = '{stuck}'"), CultureInfo.InvariantCulture));
        Assert.Equal(["ledger:PREPARED:COMMIT", "shop:PREPARED:COMMIT"], await db.TransactionLogAsync(stuck.ToString()));

        // Recovery (at open) finishes it as if nothing had been truncated.
        await using var recovered = await db.OpenAsync();
        Assert.Equal(75L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 1025"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], await db.TransactionLogAsync(stuck.ToString()));

        // Finished now: the next pass takes it too.
        var truncation = recovered.Runtime.Truncation;
        truncation.Time = new ShiftedTime(TimeSpan.FromDays(8));
        await truncation.RunOnceAsync(CancellationToken.None);
        Assert.Equal((0L, 0L, 0L, 0L), await CountsAsync(db));
    }

    [Fact]
    public async Task An_in_doubt_participant_keeps_everything_past_the_retention_until_recovery_finishes_it()
    {
        await using var db = await TwoDatabases.CreateAsync();
        var connectionString = db.ConnectionString();
        await using (var install = new KhonsuConnection(connectionString))
        {
            await install.OpenAsync();
        }

        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
        var stuck = await CrashChild.KillAtAsync(connectionString, nameof(CommitStep.AfterDecisionLogged), 1, amount: 25);

        // Someone changes the row after the crash: redo refuses to overwrite it, the participant is in doubt.
        var version = (long)(await db.SqliteScalarAsync("SELECT version FROM accounts WHERE id = 1"))!;
        await db.SqliteAsync("UPDATE accounts SET owner = 'ada lovelace' WHERE id = 1");
        await using var connection = await db.OpenAsync(); // recovery at open
        Assert.Equal(["ledger:IN_DOUBT:COMMIT", "shop:PREPARED:COMMIT"], await db.TransactionLogAsync(stuck));
        Assert.Equal((0L, 1L), await MarkersOfAsync(db, TransactionId.Parse(stuck)));

        var truncation = connection.Runtime.Truncation;
        truncation.Time = new ShiftedTime(TimeSpan.FromDays(30));
        await truncation.RunOnceAsync(CancellationToken.None);

        Assert.Equal(["ledger:IN_DOUBT:COMMIT", "shop:PREPARED:COMMIT"], await db.TransactionLogAsync(stuck));
        Assert.Equal((0L, 1L), await MarkersOfAsync(db, TransactionId.Parse(stuck)));
        Assert.Equal(LogRecordKind.Commit, (await connection.Runtime.Log.GetDecisionAsync(TransactionId.Parse(stuck)))?.Record.Kind);

        // The DBA puts the row back as the transaction found it; recovery redoes the transfer.
        await db.SqliteAsync($"UPDATE accounts SET owner = 'ada', version = {version} WHERE id = 1");
        var report = await connection.Runtime.RecoverAsync(CancellationToken.None);
        Assert.Equal((1, 0), (report.Committed, report.InDoubt));
        Assert.Equal(75L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], await db.TransactionLogAsync(stuck));
    }

    [Fact]
    public async Task Transaction_log_keeps_the_rows_inside_the_retention_window_and_drops_older_ones()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";TransactionLogRetention=1h");
        var older = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            older.Add(await TransferAsync(connection, 1, 1000 + i));
        }

        var middle = DateTimeOffset.UtcNow;
        await Poll.UntilAsync(() => Task.FromResult(DateTimeOffset.UtcNow > middle.AddMilliseconds(2)), TimeSpan.FromSeconds(1), "the clock to move past the middle");
        var newer = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            newer.Add(await TransferAsync(connection, 2, 2000 + i));
        }

        // An hour after the middle: the window holds the newer ones only.
        var truncation = connection.Runtime.Truncation;
        truncation.Time = new ShiftedTime(middle + TimeSpan.FromHours(1) - DateTimeOffset.UtcNow);
        var report = await truncation.RunOnceAsync(CancellationToken.None);

        Assert.Equal(6, report.TransactionLogRows);
        foreach (var id in older)
        {
            Assert.Empty(await db.TransactionLogAsync(id));
        }

        foreach (var id in newer)
        {
            Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], await db.TransactionLogAsync(id));
        }
    }

    [Fact]
    public async Task The_sweeper_truncates_on_its_own_every_recovery_interval()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";RecoveryInterval=0.05");
        await TransferAsync(connection, 1, 1000);

        await Poll.UntilAsync(async () => await CountsAsync(db) is (0L, 0L, _, _), TimeSpan.FromSeconds(20), "the sweeper to delete the markers");
    }

    /// <summary>
    /// One truncation pass over the log and the backends of <paramref name="connectionString"/>
    /// without opening a Khonsu runtime (whose first open would recover what the test wants found
    /// unfinished), at the system clock moved by <paramref name="shift"/>.
    /// </summary>
    private static async Task<Runtime.TruncationReport> TruncateWithoutRecoveryAsync(string connectionString, string logPath, TimeSpan shift)
    {
        var settings = Khonsu.Data.Configuration.KhonsuConnectionStringParser.Parse(connectionString);
        var options = new Backends.KhonsuBackendOptions(settings.VersionColumn, "truncation-test", settings.LockTimeout);
        var backends = settings.Backends.Select(b => Backends.BackendRegistry.Resolve(b.Kind, b.Key).CreateBackend(b.Name, b.ConnectionString, options)).ToList();
        try
        {
            await using var log = EmbeddedCommitLog.Open(logPath);
            await using var sweeper = new Runtime.TruncationSweeper(log, backends, _ => false, settings.TransactionLogRetention, null, TimeSpan.Zero, Diagnostics.KhonsuLog.None)
            {
                Time = new ShiftedTime(shift),
            };
            return await sweeper.RunOnceAsync(CancellationToken.None);
        }
        finally
        {
            foreach (var backend in backends)
            {
                await backend.DisposeAsync();
            }
        }
    }

    /// <summary>A cross-backend transfer: debit account <paramref name="account"/> on SQLite, order <paramref name="order"/> on PostgreSQL; returns the transaction's id.</summary>
    private static async Task<string> TransferAsync(KhonsuConnection connection, int account, int order, int amount = 1)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var debit = connection.CreateCommand())
        {
            debit.CommandText = $"UPDATE accounts SET balance = balance - {amount} WHERE id = {account}";
            await debit.ExecuteNonQueryAsync();
        }

        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = $"INSERT INTO orders (id, account_id, amount) VALUES ({order}, {account}, {amount})";
            await insert.ExecuteNonQueryAsync();
        }

        var id = ((KhonsuTransaction)transaction).TransactionId;
        await transaction.CommitAsync();
        return id;
    }

    /// <summary>Markers on SQLite and PostgreSQL, log records, transaction_log rows.</summary>
    private static async Task<(long Sqlite, long Postgres, long LogRecords, long TransactionLogRows)> CountsAsync(TwoDatabases db)
        => ((long)(await db.SqliteScalarAsync("SELECT count(*) FROM khonsu_applied"))!,
            (long)(await db.PostgresScalarAsync("SELECT count(*) FROM khonsu.applied"))!,
            Convert.ToInt64(await LogScalarAsync(db, "SELECT count(*) FROM khonsu_log"), CultureInfo.InvariantCulture),
            Convert.ToInt64(await LogScalarAsync(db, "SELECT count(*) FROM transaction_log"), CultureInfo.InvariantCulture));

    private static async Task<(long Sqlite, long Postgres)> MarkersOfAsync(TwoDatabases db, TransactionId id)
        => ((long)(await db.SqliteScalarAsync($"SELECT count(*) FROM khonsu_applied WHERE tx_id = '{id}'"))!,
            (long)(await db.PostgresScalarAsync($"SELECT count(*) FROM khonsu.applied WHERE tx_id = '{id}'"))!);

    private static Task<object?> LogScalarAsync(TwoDatabases db, string sql) => DirectSql.SqliteScalarAsync(db.LogPath, sql);
}
