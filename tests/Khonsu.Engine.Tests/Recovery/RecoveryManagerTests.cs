using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.Recovery;
using Khonsu.Engine.Tests.Coordination;

namespace Khonsu.Engine.Tests.Recovery;

public class RecoveryManagerTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private readonly MemoryCommitLog _log = new();
    private readonly MemoryResource _shop = new("shop");
    private readonly MemoryResource _ledger = new("ledger");
    private readonly HashSet<TransactionId> _inFlight = [];

    [Fact]
    public async Task A_commit_without_an_end_is_finished_on_every_participant_and_ended()
    {
        var id = TransactionId.New();
        await _log.AppendAsync(Decision(LogRecordKind.Commit, id, "ledger", "shop"));

        var report = await Manager().RecoverAsync();

        Assert.Equal(new RecoveryReport(1, 0, 0), report);
        Assert.Equal([$"commit {id}"], _ledger.Calls);
        Assert.Equal([$"commit {id}"], _shop.Calls);
        Assert.Equal(LogRecordKind.End, _log.Records[^1].Record.Kind);
        Assert.Equal(RecoveryReport.Empty, await Manager().RecoverAsync());
    }

    [Fact]
    public async Task A_prepared_transaction_with_no_decision_is_aborted_once_its_lease_ran_out()
    {
        var id = TransactionId.New();
        _shop.Prepared.Add(new PreparedTransaction(id, DateTimeOffset.UtcNow - Lease - TimeSpan.FromSeconds(1)));

        var report = await Manager().RecoverAsync();

        Assert.Equal(new RecoveryReport(0, 1, 0), report);
        Assert.Equal([$"abort {id}"], _shop.Calls);
        Assert.Equal([LogRecordKind.Abort, LogRecordKind.End], _log.Records.Select(r => r.Record.Kind));
        Assert.Contains("lease", _log.Records[0].Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_prepared_transaction_within_its_lease_is_left_to_its_coordinator()
    {
        _shop.Prepared.Add(new PreparedTransaction(TransactionId.New(), DateTimeOffset.UtcNow));

        var report = await Manager().RecoverAsync();

        Assert.Equal(RecoveryReport.Empty, report);
        Assert.Empty(_shop.Calls);
        Assert.Empty(_log.Records);
    }

    [Fact]
    public async Task A_prepared_transaction_whose_commit_is_logged_is_committed_everywhere()
    {
        var id = TransactionId.New();
        await _log.AppendAsync(Decision(LogRecordKind.Commit, id, "ledger", "shop"));
        await _log.AppendAsync(new LogRecord { Kind = LogRecordKind.End, TransactionId = id, NodeId = "n", Timestamp = DateTimeOffset.UtcNow });
        _shop.Prepared.Add(new PreparedTransaction(id, DateTimeOffset.UtcNow));

        await Manager().RecoverAsync();

        Assert.Equal([$"commit {id}"], _shop.Calls);
        Assert.Equal([$"commit {id}"], _ledger.Calls);
    }

    [Fact]
    public async Task Transactions_this_process_is_committing_are_left_alone()
    {
        var id = TransactionId.New();
        _inFlight.Add(id);
        await _log.AppendAsync(Decision(LogRecordKind.Commit, id, "shop"));
        _shop.Prepared.Add(new PreparedTransaction(id, DateTimeOffset.UtcNow - Lease - Lease));

        Assert.Equal(RecoveryReport.Empty, await Manager().RecoverAsync());
        Assert.Empty(_shop.Calls);
    }

    [Fact]
    public async Task A_participant_that_cannot_be_finished_is_noted_in_doubt_and_retried_on_the_next_pass()
    {
        var id = TransactionId.New();
        await _log.AppendAsync(Decision(LogRecordKind.Commit, id, "shop"));
        _shop.FailCommit = new IOException("server down");

        Assert.Equal(new RecoveryReport(0, 0, 1), await Manager().RecoverAsync());
        Assert.Contains(_log.Notes, n => n.Id == id && n.Status == ParticipantStatus.InDoubt);
        Assert.DoesNotContain(_log.Records, r => r.Record.Kind == LogRecordKind.End);

        _shop.FailCommit = null;
        Assert.Equal(new RecoveryReport(1, 0, 0), await Manager().RecoverAsync());
    }

    [Fact]
    public async Task A_decision_naming_an_unknown_backend_stays_in_doubt()
    {
        await _log.AppendAsync(Decision(LogRecordKind.Commit, TransactionId.New(), "elsewhere"));

        Assert.Equal(new RecoveryReport(0, 0, 1), await Manager().RecoverAsync());
        Assert.Contains(_log.Notes, n => n.Participant == "elsewhere");
    }

    [Fact]
    public async Task Holding_the_log_exclusively_a_prepared_transaction_of_the_log_with_no_decision_is_aborted_at_once()
    {
        var id = TransactionId.New();
        _shop.Prepared.Add(new PreparedTransaction(id, DateTimeOffset.UtcNow, OfThisLog: true));

        var report = await Manager(exclusiveLog: true).RecoverAsync();

        Assert.Equal(new RecoveryReport(0, 1, 0), report);
        Assert.Equal([$"abort {id}"], _shop.Calls);
        Assert.Equal([LogRecordKind.Abort, LogRecordKind.End], _log.Records.Select(r => r.Record.Kind));
        Assert.Contains("by a process that no longer runs", _log.Records[0].Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Holding_the_log_exclusively_a_transaction_in_flight_here_is_still_left_to_its_coordinator()
    {
        var id = TransactionId.New();
        _inFlight.Add(id);
        _shop.Prepared.Add(new PreparedTransaction(id, DateTimeOffset.UtcNow, OfThisLog: true));

        Assert.Equal(RecoveryReport.Empty, await Manager(exclusiveLog: true).RecoverAsync());
        Assert.Empty(_shop.Calls);
        Assert.Empty(_log.Records);
    }

    [Fact]
    public async Task A_prepared_transaction_whose_mark_names_no_log_waits_for_its_lease_even_with_the_log_held()
    {
        // Prepared by a build from before logs were told apart: it may be another log's.
        _shop.Prepared.Add(new PreparedTransaction(TransactionId.New(), DateTimeOffset.UtcNow, OfThisLog: false));

        Assert.Equal(RecoveryReport.Empty, await Manager(exclusiveLog: true).RecoverAsync());
        Assert.Empty(_shop.Calls);
    }

    [Fact]
    public async Task On_a_shared_log_a_prepared_transaction_of_the_log_waits_for_its_lease()
    {
        // Another live process may still log its decision.
        _shop.Prepared.Add(new PreparedTransaction(TransactionId.New(), DateTimeOffset.UtcNow, OfThisLog: true));

        Assert.Equal(RecoveryReport.Empty, await Manager(exclusiveLog: false).RecoverAsync());
        Assert.Empty(_shop.Calls);
    }

    private RecoveryManager Manager(bool exclusiveLog = false) => new(_log, [_ledger, _shop], "recovery", _inFlight.Contains, Lease, exclusiveLog: exclusiveLog);

    private static LogRecord Decision(LogRecordKind kind, TransactionId id, params string[] participants) => new()
    {
        Kind = kind,
        TransactionId = id,
        NodeId = "coordinator",
        Timestamp = DateTimeOffset.UtcNow,
        Participants = participants.Select(p => new ParticipantVote(p, false, [new RowWrite("t", "1", WriteKind.Update, 1, 2)])).ToList(),
    };
}
