using System.Data;
using System.Data.Common;
using Khonsu.Data;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// TransactionLog=&lt;backend&gt; with a Kafka log: transaction_log materialised into a table that a
/// DBA queries with psql (khonsu.transaction_log) or sqlite3 (khonsu_transaction_log).
/// </summary>
public sealed class TransactionLogTests
{
    private const string OnShop = ";TransactionLog=shop";

    [Fact]
    public async Task Committed_aborted_and_in_doubt_then_recovered_transactions_show_in_postgres_with_their_statuses()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await db.InstallAsync(OnShop);
        await using var connection = await db.OpenAsync(OnShop);
        var shop = db.Postgres.ConnectionString;

        var committed = await EndToEndTests.TransferAsync(connection, 1000);
        var aborted = await LoseWriteSkewAsync(db, OnShop);

        // A process stops dead after logging its commit decision: both participants stay prepared.
        using (var child = ChildProcess.Start("crash", db.ConnectionString(OnShop), CommitStep.AfterDecisionLogged, 1, 25))
        {
            var inDoubt = (await child.ReadUntilAsync("AT ", TransactionLogTable.Patience))[^1].Split(' ')[2];
            await TransactionLogTable.WaitForPostgresAsync(shop, inDoubt, "ledger:PREPARED", "shop:PREPARED");
            await child.KillAsync();

            await connection.RecoverAsync();
            await TransactionLogTable.WaitForPostgresAsync(shop, inDoubt, "ledger:COMMITTED", "shop:COMMITTED");
        }

        await TransactionLogTable.WaitForPostgresAsync(shop, committed, "ledger:COMMITTED", "shop:COMMITTED");
        await TransactionLogTable.WaitForPostgresAsync(shop, aborted, "ledger:ABORTED", "shop:ABORTED");

        var commitRow = (await TransactionLogTable.PostgresRowsAsync(shop, committed))[0].Split(TransactionLogTable.Separator);
        var decision = await connection.Runtime.Log.GetDecisionAsync(Engine.TransactionId.Parse(committed));
        Assert.Equal(("COMMIT", connection.Runtime.NodeId, "1", decision!.Position.ToString()), (commitRow[3], commitRow[4], commitRow[10], commitRow[11]));
        Assert.NotEqual("NULL", commitRow[8]); // finished_at
        Assert.Equal("NULL", commitRow[9]); // no abort_reason
        foreach (var abortRow in (await TransactionLogTable.PostgresRowsAsync(shop, aborted)).Select(r => r.Split(TransactionLogTable.Separator)))
        {
            Assert.Equal(("ABORT", "NULL"), (abortRow[3], abortRow[10])); // nothing written survives an abort
            Assert.NotEqual("NULL", abortRow[9]); // why
        }

        // Khonsu's own table: no version column, no triggers, not a routed user table.
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'khonsu.transaction_log'::regclass"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'khonsu' AND table_name = 'transaction_log' AND column_name = 'version'"));
        Assert.DoesNotContain(connection.Runtime.Backends.SelectMany(b => connection.Runtime.CatalogOf(b).Tables), t => t.Name.StartsWith("transaction_log", StringComparison.Ordinal));
        await db.AssertBalancesMatchOrdersAsync();
    }

    [Fact]
    public async Task A_participant_recovery_cannot_finish_shows_in_doubt_with_the_reason_until_its_end_record()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await db.InstallAsync(OnShop);
        await using var connection = await db.OpenAsync(OnShop);
        var shop = db.Postgres.ConnectionString;
        var log = connection.Runtime.Log;

        // A commit decision whose participant is a backend this connection string does not name:
        // recovery cannot finish it, and notes why in the log.
        var id = Engine.TransactionId.New();
        var commit = new LogRecord
        {
            Kind = LogRecordKind.Commit,
            TransactionId = id,
            NodeId = "elsewhere-node",
            Timestamp = DateTimeOffset.UtcNow,
            Participants = [new Engine.Commit.ParticipantVote("archive", NeedsRedo: false, [])],
        };
        await log.AppendAsync(commit);
        await connection.RecoverAsync();

        await TransactionLogTable.WaitForPostgresAsync(shop, id.ToString(), "archive:IN_DOUBT");
        var row = (await TransactionLogTable.PostgresRowsAsync(shop, id.ToString()))[0].Split(TransactionLogTable.Separator);
        Assert.Equal("COMMIT", row[3]);
        Assert.Contains("backend 'archive' is not in this connection string", row[9], StringComparison.Ordinal);
        Assert.Equal(LogRecordKind.Commit, (await log.GetDecisionAsync(id))?.Record.Kind); // a note decides nothing
        Assert.Contains(await RecordsOfAsync(log, id), r => r.Kind == LogRecordKind.InDoubtNote && r.Participants.Single().Participant == "archive");

        // Finished elsewhere: its end record clears the note.
        await log.AppendAsync(commit with { Kind = LogRecordKind.End });
        await TransactionLogTable.WaitForPostgresAsync(shop, id.ToString(), "archive:COMMITTED");
        Assert.Equal("NULL", (await TransactionLogTable.PostgresRowsAsync(shop, id.ToString()))[0].Split(TransactionLogTable.Separator)[9]);
    }

    private static async Task<List<LogRecord>> RecordsOfAsync(ICommitLog log, Engine.TransactionId id)
    {
        var records = new List<LogRecord>();
        await foreach (var logged in log.ReadFromAsync(LogPosition.Start))
        {
            if (logged.Record.TransactionId == id)
            {
                records.Add(logged.Record);
            }
        }

        return records;
    }

    [Fact]
    public async Task Replaying_the_log_from_scratch_twice_gives_the_same_table()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        var shop = db.Postgres.ConnectionString;
        List<string> first;
        await using (var connection = await db.OpenAsync(OnShop))
        {
            for (var order = 1000; order < 1004; order++)
            {
                await EndToEndTests.TransferAsync(connection, order);
            }

            await LoseWriteSkewAsync(db, OnShop);
            await connection.RecoverAsync(); // the abort gets its end record: the log stops growing

            // Once every participant shows its end (finished_at): an end record that the background
            // sweep, racing RecoverAsync, appends after the log end was read would otherwise be
            // in the replays but not in the first table.
            await Poll.UntilAsync(
                async () => (await TransactionLogTable.PostgresRowsAsync(shop)).All(r => r.Split(TransactionLogTable.Separator)[8] != "NULL"),
                TransactionLogTable.Patience,
                "every participant of the log to show its end in transaction_log");
            await TransactionLogTable.WaitCaughtUpAsync(connection);
            first = await TransactionLogTable.PostgresRowsAsync(shop);
        }

        Assert.Equal(6, first.Select(r => r.Split(TransactionLogTable.Separator)[0]).Distinct().Count());
        Assert.DoesNotContain(first, r => TransactionLogTable.StatusOf(r).EndsWith(":PREPARED", StringComparison.Ordinal));
        foreach (var reset in new[] { "DELETE FROM khonsu.transaction_log_progress", "TRUNCATE khonsu.transaction_log; DELETE FROM khonsu.transaction_log_progress" })
        {
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(db.ConnectionString(OnShop))); // not ClearAllPools: other tests run in parallel
            await db.PostgresScalarAsync(reset);
            await using var replayed = await db.OpenAsync(OnShop);
            await TransactionLogTable.WaitCaughtUpAsync(replayed);
            Assert.Equal(first, await TransactionLogTable.PostgresRowsAsync(shop));
        }
    }

    [Fact]
    public async Task Two_runtimes_materialising_at_once_give_the_table_one_alone_gives()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        const string a = OnShop + ";Node=a;LockTimeout=2";
        const string b = OnShop + ";Node=b;LockTimeout=2";
        await db.InstallAsync(a);
        await using var first = await db.OpenAsync(a);
        await using var second = await db.OpenAsync(b);

        var commits = await Task.WhenAll(
            Task.Run(() => TransfersAsync(first, 2000, 10)),
            Task.Run(() => TransfersAsync(second, 3000, 10)));
        await first.RecoverAsync();
        await TransactionLogTable.WaitCaughtUpAsync(first);
        await TransactionLogTable.WaitCaughtUpAsync(second);
        var together = await TransactionLogTable.PostgresRowsAsync(db.Postgres.ConnectionString);
        Assert.Equal(2 * commits.Sum(), together.Count(r => TransactionLogTable.StatusOf(r).EndsWith(":COMMITTED", StringComparison.Ordinal)));
        Assert.DoesNotContain(together, r => TransactionLogTable.StatusOf(r).EndsWith(":PREPARED", StringComparison.Ordinal));

        // Closed first: an open connection keeps its runtime (and its materialiser) after ClearPoolAsync.
        await first.CloseAsync();
        await second.CloseAsync();
        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(db.ConnectionString(a))); // not ClearAllPools: other tests run in parallel
        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(db.ConnectionString(b)));
        await db.PostgresScalarAsync("TRUNCATE khonsu.transaction_log; DELETE FROM khonsu.transaction_log_progress");
        await using var alone = await db.OpenAsync(a);
        await TransactionLogTable.WaitCaughtUpAsync(alone);
        Assert.Equal(together, await TransactionLogTable.PostgresRowsAsync(db.Postgres.ConnectionString));
    }

    [Fact]
    public async Task A_sqlite_backend_holds_transaction_log_with_the_embedded_logs_text_timestamps()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using var connection = await db.OpenAsync(";TransactionLog=ledger");
        var committed = await EndToEndTests.TransferAsync(connection, 1000);
        await TransactionLogTable.WaitCaughtUpAsync(connection);

        var rows = await TransactionLogTable.SqliteRowsAsync(db.SqlitePath, transactionId: committed);
        Assert.Equal(["ledger:COMMITTED", "shop:COMMITTED"], rows.Select(TransactionLogTable.StatusOf));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$", rows[0].Split(TransactionLogTable.Separator)[8]);

        // Khonsu's own table: no version trigger, not a routed user table.
        Assert.Equal(0L, await db.SqliteScalarAsync("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'khonsu%'"));
        Assert.DoesNotContain(connection.Runtime.Backends.SelectMany(b => connection.Runtime.CatalogOf(b).Tables), t => t.Name.Contains("transaction_log", StringComparison.Ordinal));
        await EndToEndTests.TransferAsync(connection, 1001); // accounts still routed to the ledger
    }

    [Fact]
    public async Task Without_its_table_commits_go_on_the_lag_grows_the_failure_is_logged_without_secrets_and_it_catches_up_once_installed()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await db.InstallAsync(); // the users' tables, not transaction_log
        const string password = "Not-Really-Needed-42";
        var connectionString = db.ConnectionString(OnShop + ";Schema=Manual").Replace(db.Postgres.ConnectionString, db.Postgres.ConnectionString + ";Password=" + password, StringComparison.Ordinal);
        var capture = new CapturingLoggerProvider();
        await using var dataSource = KhonsuDataSource.Create(connectionString, capture.Factory());
        await using var connection = await dataSource.OpenConnectionAsync();
        var committed = await EndToEndTests.TransferAsync(connection, 1000);
        await EndToEndTests.TransferAsync(connection, 1001);
        var materializer = connection.Runtime.TransactionLog!;
        await Poll.UntilAsync(() => Task.FromResult(materializer.Lag == 4), TransactionLogTable.Patience, "the lag to count 2 commit and 2 end records");
        await Poll.UntilAsync(() => Task.FromResult(capture.Lines.Any(l => l.EventId == 1020)), TransactionLogTable.Patience, "a logged failure");
        var failure = capture.Lines.First(l => l.EventId == 1020);
        Assert.Contains("shop", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(capture.Lines, l => l.Everything.Contains(password, StringComparison.Ordinal));

        await connection.InstallSchemaAsync();
        await TransactionLogTable.WaitCaughtUpAsync(connection);
        await TransactionLogTable.WaitForPostgresAsync(db.Postgres.ConnectionString, committed, "ledger:COMMITTED", "shop:COMMITTED");
        await Poll.UntilAsync(() => Task.FromResult(capture.Lines.Any(l => l.EventId == 1021)), TransactionLogTable.Patience, "the resumption logged");
    }

    [Fact]
    public async Task TransactionLog_needs_a_kafka_log_and_a_backend_of_the_connection_string()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        var embedded = $"Khonsu:Sqlite.ledger=\"Data Source={db.SqlitePath}\";Postgres.shop=\"{db.Postgres.ConnectionString}\";TransactionLog=shop";
        var notKafka = Assert.Throws<ArgumentException>(() => new KhonsuConnection(embedded)); // refused when given, as Npgsql does
        Assert.Contains("'TransactionLog'", notKafka.Message, StringComparison.Ordinal);
        Assert.Contains("kafka://", notKafka.Message, StringComparison.Ordinal);

        var unknown = Assert.Throws<ArgumentException>(() => new KhonsuConnection(db.ConnectionString(";TransactionLog=warehouse")));
        Assert.Contains("'TransactionLog'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("'warehouse'", unknown.Message, StringComparison.Ordinal);
    }

    /// <summary>Transfers one after the other; a conflict with the other runtime's is fine. Returns how many committed.</summary>
    private static async Task<int> TransfersAsync(KhonsuConnection connection, int firstOrder, int count)
    {
        var committed = 0;
        for (var order = firstOrder; order < firstOrder + count; order++)
        {
            try
            {
                await EndToEndTests.TransferAsync(connection, order);
                committed++;
            }
            catch (DbException)
            {
                // Aborted: its abort record (if any) is in the log and in the table too.
            }
        }

        return committed;
    }

    /// <summary>
    /// Write skew across the databases: both read account 1 and order 1000, one updates each, the
    /// second to commit fails serialization (40001) and its abort record says why. Returns its id.
    /// </summary>
    internal static async Task<string> LoseWriteSkewAsync(KafkaDatabases db, string extra)
    {
        await using var first = await db.OpenAsync(extra);
        await using var second = await db.OpenAsync(extra);
        if (Convert.ToInt64(await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 1000"), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            await EndToEndTests.TransferAsync(first, 1000);
        }

        await using var t1 = await first.BeginTransactionAsync(IsolationLevel.Serializable);
        await using var t2 = await second.BeginTransactionAsync(IsolationLevel.Serializable);
        foreach (var connection in new[] { first, second })
        {
            await ExecuteAsync(connection, "SELECT balance FROM accounts WHERE id = 1");
            await ExecuteAsync(connection, "SELECT amount FROM orders WHERE id = 1000");
        }

        // Updates that change no value still bump the rows' versions: a conflict, and balances still match orders.
        await ExecuteAsync(first, "UPDATE accounts SET balance = balance WHERE id = 1");
        await ExecuteAsync(second, "UPDATE orders SET amount = amount WHERE id = 1000");
        await t1.CommitAsync();
        var error = await Assert.ThrowsAnyAsync<DbException>(() => t2.CommitAsync());
        Assert.Equal("40001", error.SqlState);
        return t2.TransactionId;
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
        }
    }
}
