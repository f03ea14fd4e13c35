using System.Text.RegularExpressions;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// The materialised transaction_log follows the embedded log's rules exactly: the same records,
/// appended to both logs, give the same rows (first decision wins, a late decision changes
/// nothing, an end record finishes only an earlier decision, "*" when no participant is named).
/// </summary>
public sealed partial class TransactionLogSemanticsTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_same_records_give_the_embedded_logs_rows_on_sqlite_and_on_postgres()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await using var onLedger = await db.OpenAsync(";TransactionLog=ledger");
        await using var onShop = await db.OpenAsync(";TransactionLog=shop");
        var embeddedPath = Path.Combine(Path.GetDirectoryName(db.SqlitePath)!, "embedded-log.db");

        await using (var embedded = EmbeddedCommitLog.Open(embeddedPath))
        {
            var (ended, aborted, abortedNoOne, lateAbort, lateCommit, endFirst, open) =
                (TransactionId.New(), TransactionId.New(), TransactionId.New(), TransactionId.New(), TransactionId.New(), TransactionId.New(), TransactionId.New());
            LogRecord[] records =
            [
                Record(LogRecordKind.Commit, ended, 0),
                Record(LogRecordKind.End, ended, 1),
                Record(LogRecordKind.Abort, aborted, 2, [new ParticipantVote("ledger", false, [])], "SerializationConflictException: accounts 7"),
                Record(LogRecordKind.Abort, abortedNoOne, 3, [], "the commit record could not be confirmed"),
                Record(LogRecordKind.End, abortedNoOne, 4, []),
                Record(LogRecordKind.Commit, lateAbort, 5),
                Record(LogRecordKind.Abort, lateAbort, 6, [], "lease ran out"),
                Record(LogRecordKind.End, lateAbort, 7),
                Record(LogRecordKind.Abort, lateCommit, 8, reason: "lease ran out"),
                Record(LogRecordKind.Commit, lateCommit, 9),
                Record(LogRecordKind.End, endFirst, 10),
                Record(LogRecordKind.Commit, endFirst, 11),
                Record(LogRecordKind.Commit, open, 12),
            ];
            foreach (var record in records)
            {
                // Same order in both logs: Kafka offset n is the embedded log's position n + 1.
                var kafka = await onLedger.Runtime.Log.AppendAsync(record);
                var local = await embedded.AppendAsync(record);
                Assert.Equal(kafka.Position.Value + 1, local.Position.Value);
            }
        }

        await TransactionLogTable.WaitCaughtUpAsync(onLedger);
        await TransactionLogTable.WaitCaughtUpAsync(onShop);
        var expected = (await TransactionLogTable.SqliteRowsAsync(embeddedPath, "transaction_log")).Select(KafkaPositions).ToList();
        Assert.Equal(12, expected.Count);
        Assert.Equal(expected, await TransactionLogTable.SqliteRowsAsync(db.SqlitePath));
        Assert.Equal(expected.Select(Microseconds), await TransactionLogTable.PostgresRowsAsync(db.Postgres.ConnectionString));
    }

    private static LogRecord Record(LogRecordKind kind, TransactionId id, int second, IReadOnlyList<ParticipantVote>? participants = null, string? reason = null)
        => new()
        {
            Kind = kind,
            TransactionId = id,
            NodeId = "node-1",
            Timestamp = At.AddSeconds(second),
            StartedAt = At.AddSeconds(second).AddMilliseconds(-1500),
            Operation = "ledger: UPDATE accounts SET balance = balance - 1 WHERE id = 1 | shop: INSERT INTO orders ...",
            Participants = participants ?? [new ParticipantVote("ledger", true, [new RowWrite("accounts", "1", WriteKind.Update, 3, 4, null)]), new ParticipantVote("shop", false, [])],
            Reason = reason,
        };

    /// <summary>The embedded log counts positions from 1, Kafka offsets from 0.</summary>
    private static string KafkaPositions(string row)
    {
        var columns = row.Split(TransactionLogTable.Separator);
        columns[^1] = (long.Parse(columns[^1], System.Globalization.CultureInfo.InvariantCulture) - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return string.Join(TransactionLogTable.Separator, columns);
    }

    /// <summary>PostgreSQL keeps microseconds: the seventh fractional digit (always 0 here) goes.</summary>
    private static string Microseconds(string row) => SevenDigits().Replace(row, "$1Z");

    [GeneratedRegex(@"(\.\d{6})\dZ")]
    private static partial Regex SevenDigits();
}
