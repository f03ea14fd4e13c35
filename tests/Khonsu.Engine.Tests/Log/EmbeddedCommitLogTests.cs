using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using SQLitePCL;

namespace Khonsu.Engine.Tests.Log;

public sealed class EmbeddedCommitLogTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "khonsu-log-tests", Guid.NewGuid().ToString("N"));

    private string LogPath => Path.Combine(_directory, "log.db");

    [Fact]
    public async Task An_appended_decision_can_be_read_back()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var record = Record(LogRecordKind.Commit);

        var appended = await log.AppendAsync(record);
        var decision = await log.GetDecisionAsync(record.TransactionId);

        Assert.Equal(LogRecordKind.Commit, appended.Decision);
        Assert.Equal(appended.Position, decision!.Position);
        Assert.Equal("ledger", Assert.Single(decision.Record.Participants).Participant);
        Assert.Null(await log.GetDecisionAsync(TransactionId.New()));
    }

    [Fact]
    public async Task The_first_decision_in_log_order_wins()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var id = TransactionId.New();

        var abort = await log.AppendAsync(Record(LogRecordKind.Abort, id));
        var lateCommit = await log.AppendAsync(Record(LogRecordKind.Commit, id));

        Assert.Equal(LogRecordKind.Abort, abort.Decision);
        Assert.Equal(LogRecordKind.Abort, lateCommit.Decision);
        Assert.Equal(LogRecordKind.Abort, (await log.GetDecisionAsync(id))!.Record.Kind);
        Assert.Equal(["*:ABORTED:ABORT"], Rows(id));
    }

    [Fact]
    public async Task Unfinished_lists_decisions_without_an_end_record_in_log_order()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var (ended, open1, open2) = (TransactionId.New(), TransactionId.New(), TransactionId.New());
        await log.AppendAsync(Record(LogRecordKind.Commit, ended));
        await log.AppendAsync(Record(LogRecordKind.Commit, open1));
        await log.AppendAsync(Record(LogRecordKind.End, ended));
        await log.AppendAsync(Record(LogRecordKind.Abort, open2));

        var unfinished = await ToListAsync(log.ReadUnfinishedAsync());

        Assert.Equal([open1, open2], unfinished.Select(r => r.Record.TransactionId));
    }

    [Fact]
    public async Task ReadFrom_returns_every_record_from_a_position_in_order()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var positions = new List<LogPosition>();
        for (var i = 0; i < 5; i++)
        {
            positions.Add((await log.AppendAsync(Record(LogRecordKind.Commit))).Position);
        }

        var read = await ToListAsync(log.ReadFromAsync(positions[2]));

        Assert.Equal(positions.Skip(2), read.Select(r => r.Position));
    }

    [Fact]
    public async Task Records_survive_closing_and_reopening()
    {
        var record = Record(LogRecordKind.Commit);
        await using (var log = EmbeddedCommitLog.Open(LogPath))
        {
            await log.AppendAsync(record);
        }

        await using var reopened = EmbeddedCommitLog.Open(LogPath);
        Assert.Equal(record.TransactionId, (await reopened.GetDecisionAsync(record.TransactionId))!.Record.TransactionId);
    }

    [Fact]
    public async Task Transaction_log_shows_each_participant_through_commit_and_end()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        var id = TransactionId.New();
        var commit = Record(LogRecordKind.Commit, id) with
        {
            Participants = [new ParticipantVote("ledger", true, [new RowWrite("t", "1", WriteKind.Update, 1, 2)]), new ParticipantVote("shop", false, [])],
        };

        await log.AppendAsync(commit);
        Assert.Equal(["ledger:PREPARED:COMMIT", "shop:PREPARED:COMMIT"], Rows(id));

        await log.NoteParticipantStatusAsync(id, "shop", ParticipantStatus.InDoubt, "connection lost");
        Assert.Equal(["ledger:PREPARED:COMMIT", "shop:IN_DOUBT:COMMIT"], Rows(id));

        await log.AppendAsync(Record(LogRecordKind.End, id));
        Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], Rows(id));
        Assert.Equal(1L, Scalar($"SELECT rows_written FROM transaction_log WHERE tx_id = '{id}' AND participant = 'ledger'"));
    }

    [Fact]
    public async Task Concurrent_appends_share_syncs()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);
        const int appends = 400;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var tasks = Enumerable.Range(0, appends).Select(_ => Task.Run(async () =>
        {
            await start.Task;
            return await log.AppendAsync(Record(LogRecordKind.Commit));
        })).ToList();
        start.SetResult();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(appends, results.Select(r => r.Position).Distinct().Count());
        Assert.True(log.SyncCount < appends, $"{log.SyncCount} syncs for {appends} appends: group commit did not batch");
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_the_log_keeps_working()
    {
        await using var log = EmbeddedCommitLog.Open(LogPath);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => log.AppendAsync(Record(LogRecordKind.Commit), new CancellationToken(canceled: true)).AsTask());
        var appended = await log.AppendAsync(Record(LogRecordKind.Commit));

        Assert.Equal(LogRecordKind.Commit, appended.Decision);
    }

    [Fact]
    public async Task Appending_after_dispose_fails_clearly()
    {
        var log = EmbeddedCommitLog.Open(LogPath);
        await log.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => log.AppendAsync(Record(LogRecordKind.Commit)).AsTask());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static LogRecord Record(LogRecordKind kind, TransactionId? id = null) => new()
    {
        Kind = kind,
        TransactionId = id ?? TransactionId.New(),
        NodeId = "test",
        Timestamp = DateTimeOffset.UtcNow,
        Participants = kind == LogRecordKind.Commit ? [new ParticipantVote("ledger", true, [])] : [],
    };

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    private List<string> Rows(TransactionId id)
    {
        var rows = new List<string>();
        Query($"SELECT participant || ':' || status || ':' || coalesce(decision, '') FROM transaction_log WHERE tx_id = '{id}' ORDER BY participant", statement => rows.Add(raw.sqlite3_column_text(statement, 0).utf8_to_string()));
        return rows;
    }

    private long Scalar(string sql)
    {
        long value = -1;
        Query(sql, statement => value = raw.sqlite3_column_int64(statement, 0));
        return value;
    }

    /// <summary>Reads the log file as a DBA's tool would, through its own handle.</summary>
    private void Query(string sql, Action<sqlite3_stmt> row)
    {
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_open_v2(LogPath, out var db, raw.SQLITE_OPEN_READONLY, null));
        using (db)
        {
            Assert.Equal(raw.SQLITE_OK, raw.sqlite3_prepare_v2(db, sql, out sqlite3_stmt statement));
            using (statement)
            {
                while (raw.sqlite3_step(statement) == raw.SQLITE_ROW)
                {
                    row(statement);
                }
            }
        }
    }
}
