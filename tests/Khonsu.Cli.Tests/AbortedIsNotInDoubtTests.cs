using System.Text.Json;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.Tests;

/// <summary>
/// An aborted transaction is not in doubt. An abort whose participants all rolled back (only its
/// end record is missing, as a crash leaves the aborts of the moment) is not listed at all; one a
/// backend still holds prepared is "to roll back", apart from what is really in doubt.
/// </summary>
public class AbortedIsNotInDoubtTests
{
    [Fact]
    public async Task Status_lists_an_abort_still_prepared_as_to_roll_back_and_no_abort_as_in_doubt()
    {
        await using var db = await CliDatabases.CreateAsync();
        await db.CommitTransferAsync(amount: 5); // installs Khonsu, creates the log; the runtime is closed again
        var (closed, toRollBack) = (TransactionId.New(), TransactionId.New());
        await using (var log = EmbeddedCommitLog.Open(db.LogPath))
        {
            // Left by a crash: an abort with no end record and nothing prepared...
            await log.AppendAsync(Abort(closed, "ledger", "shop"));

            // ...and one that PostgreSQL still holds prepared (under this log's tag).
            await db.PostgresAsync($"BEGIN; INSERT INTO orders (id, account_id, amount) VALUES (700, 1, 1); PREPARE TRANSACTION 'khonsu:{log.Identity.Tag}:{toRollBack}'");
            await log.AppendAsync(Abort(toRollBack, "shop"));
        }

        var status = await CliRun.RunAsync(db.ConnectionString(), "status");
        Assert.True(status.ExitCode == 2, status.ToString());
        Assert.Contains("In doubt: none", status.Stdout, StringComparison.Ordinal);
        Assert.Contains("To roll back: 1 transaction (aborted, still prepared on a backend; recovery rolls them back)", status.Stdout, StringComparison.Ordinal);
        Assert.Matches($@"{toRollBack}  ABORT logged \S+ ago at position \d+, still prepared: recovery rolls it back", status.Stdout);
        Assert.DoesNotContain(closed.ToString(), status.Stdout, StringComparison.Ordinal);
        var json = await CliRun.RunAsync(db.ConnectionString(), "status", "--json");
        using (var document = JsonDocument.Parse(json.Stdout))
        {
            Assert.Equal(0, document.RootElement.GetProperty("inDoubt").GetArrayLength());
            Assert.Equal(toRollBack.ToString(), Assert.Single(document.RootElement.GetProperty("toRollBack").EnumerateArray()).GetProperty("txId").GetString());
        }

        var recover = await CliRun.RunAsync(db.ConnectionString(), "recover");
        Assert.True(recover.ExitCode == 0, recover.ToString());
        Assert.Contains($"{toRollBack} aborted", recover.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{closed} closed (already rolled back)", recover.Stdout, StringComparison.Ordinal);
        Assert.Contains("Committed 0, aborted 1.", recover.Stdout, StringComparison.Ordinal);
        Assert.Contains("Closed 1 aborted transaction with nothing left to roll back (only the end record was missing).", recover.Stdout, StringComparison.Ordinal);
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));

        var after = await CliRun.RunAsync(db.ConnectionString(), "status");
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    private static LogRecord Abort(TransactionId id, params string[] participants) => new()
    {
        Kind = LogRecordKind.Abort,
        TransactionId = id,
        NodeId = "web-1",
        Timestamp = DateTimeOffset.UtcNow,
        Reason = "write-write conflict",
        Participants = participants.Select(p => new ParticipantVote(p, false, [])).ToList(),
    };
}
