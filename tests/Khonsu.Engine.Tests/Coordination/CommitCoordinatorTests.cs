using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Coordination;

public class CommitCoordinatorTests
{
    private readonly MemoryCommitLog _log = new();

    [Fact]
    public async Task Commit_prepares_all_logs_the_decision_finishes_all_then_logs_the_end()
    {
        var (a, b) = (new MemoryParticipant("a"), new MemoryParticipant("b"));
        var transaction = NewTransaction();

        await new CommitCoordinator(_log, "node").CommitAsync(transaction, [a, b], async: true, CancellationToken.None);

        Assert.Equal(["prepare", "commit"], a.Calls);
        Assert.Equal(["prepare", "commit"], b.Calls);
        Assert.Equal([LogRecordKind.Commit, LogRecordKind.End], _log.Records.Select(r => r.Record.Kind));
        Assert.Equal(["a", "b"], _log.Records[0].Record.Participants.Select(p => p.Participant));
    }

    [Fact]
    public async Task Every_participant_is_asked_to_prepare_while_the_first_is_still_preparing()
    {
        var stillPreparing = new TaskCompletionSource();
        var (a, b) = (new MemoryParticipant("a") { HoldPrepare = stillPreparing.Task }, new MemoryParticipant("b"));

        var commit = new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, b], async: true, CancellationToken.None).AsTask();

        // The memory log and b answer at once, so all of this ran before CommitAsync returned.
        Assert.Equal(["prepare"], b.Calls);
        Assert.Empty(_log.Records);
        stillPreparing.SetResult();
        await commit;
        Assert.Equal([LogRecordKind.Commit, LogRecordKind.End], _log.Records.Select(r => r.Record.Kind));
    }

    [Fact]
    public async Task Every_participant_is_finished_while_the_first_is_still_finishing()
    {
        var stillFinishing = new TaskCompletionSource();
        var (a, b) = (new MemoryParticipant("a") { HoldCommit = stillFinishing.Task }, new MemoryParticipant("b"));

        var commit = new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, b], async: true, CancellationToken.None).AsTask();

        Assert.Equal(["prepare", "commit"], b.Calls);
        Assert.Equal([LogRecordKind.Commit], _log.Records.Select(r => r.Record.Kind)); // no end record before a finished
        stillFinishing.SetResult();
        await commit;
        Assert.Equal([LogRecordKind.Commit, LogRecordKind.End], _log.Records.Select(r => r.Record.Kind));
    }

    [Fact]
    public async Task A_failed_prepare_rolls_back_everyone_logs_an_abort_and_rethrows_the_original_error()
    {
        var (a, b) = (new MemoryParticipant("a"), new MemoryParticipant("b") { FailPrepare = new SerializationConflictException("b", "t", "1", "row changed") });

        var error = await Assert.ThrowsAsync<SerializationConflictException>(() => new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, b], async: true, CancellationToken.None).AsTask());

        Assert.Equal("row changed", error.Message);
        Assert.Equal(["prepare", "rollback"], a.Calls);
        Assert.Equal(["prepare", "rollback"], b.Calls);
        var abort = Assert.Single(_log.Records).Record;
        Assert.Equal(LogRecordKind.Abort, abort.Kind);
        Assert.Contains("row changed", abort.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_abort_after_every_participant_rolled_back_ends_the_transaction()
    {
        var (a, b) = (new MemoryParticipant("a"), new MemoryParticipant("b") { FailPrepare = new SerializationConflictException("b", "t", "1", "row changed") });

        await Assert.ThrowsAsync<SerializationConflictException>(() => new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, b], async: true, CancellationToken.None).AsTask());

        Assert.True(Assert.Single(_log.Records).Record.EndsTransaction, "nothing is left prepared: the abort needs no recovery");
    }

    [Fact]
    public async Task An_abort_with_a_participant_that_could_not_roll_back_is_left_for_recovery()
    {
        var a = new MemoryParticipant("a") { FailRollback = new IOException("connection lost") };
        var b = new MemoryParticipant("b") { FailPrepare = new SerializationConflictException("b", "t", "1", "row changed") };

        await Assert.ThrowsAsync<SerializationConflictException>(() => new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, b], async: true, CancellationToken.None).AsTask());

        Assert.False(Assert.Single(_log.Records).Record.EndsTransaction, "a may still be prepared: recovery must roll it back");
    }

    [Fact]
    public async Task A_read_only_transaction_is_not_logged()
    {
        var (a, b) = (new MemoryParticipant("a", writes: 0), new MemoryParticipant("b", writes: 0));

        await new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, b], async: true, CancellationToken.None);

        Assert.Empty(_log.Records);
        Assert.Equal(["prepare", "validate", "commit"], a.Calls);
    }

    [Fact]
    public async Task Read_only_participants_are_left_out_of_the_commit_record()
    {
        var (reader, writer) = (new MemoryParticipant("reader", writes: 0), new MemoryParticipant("writer"));

        await new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [reader, writer], async: true, CancellationToken.None);

        Assert.Equal(["writer"], _log.Records[0].Record.Participants.Select(p => p.Participant));
    }

    [Fact]
    public async Task Readers_of_a_writing_transaction_validate_their_reads_and_a_changed_read_aborts_everyone()
    {
        var reader = new MemoryParticipant("reader", writes: 0) { FailValidation = new SerializationConflictException("reader", "t", "1", "read row changed") };
        var writer = new MemoryParticipant("writer");

        await Assert.ThrowsAsync<SerializationConflictException>(() => new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [reader, writer], async: true, CancellationToken.None).AsTask());

        Assert.Equal(["prepare", "validate", "rollback"], reader.Calls);
        Assert.Equal(["prepare", "rollback"], writer.Calls);
        Assert.DoesNotContain(_log.Records, r => r.Record.Kind == LogRecordKind.Commit);
    }

    [Fact]
    public async Task A_read_only_transaction_on_one_backend_validates_nothing()
    {
        var reader = new MemoryParticipant("reader", writes: 0);

        await new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [reader], async: true, CancellationToken.None);

        Assert.Equal(["prepare-one-phase", "commit"], reader.Calls);
    }

    [Fact]
    public async Task A_read_only_transaction_over_several_backends_validates_its_reads_against_fractured_reads()
    {
        var (a, b) = (new MemoryParticipant("a", writes: 0), new MemoryParticipant("b", writes: 0));

        await new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, b], async: true, CancellationToken.None);

        Assert.Equal(["prepare", "validate", "commit"], a.Calls);
        Assert.Equal(["prepare", "validate", "commit"], b.Calls);
        Assert.Empty(_log.Records);
    }

    [Fact]
    public async Task A_read_only_transaction_on_a_safe_snapshot_is_neither_validated_nor_certified_but_a_write_is_still_refused()
    {
        var certifier = new CommitCertifier();
        var coordinator = new CommitCoordinator(_log, "node", certifier: certifier);
        var (a, b) = (new MemoryParticipant("a", writes: 0), new MemoryParticipant("b", writes: 0));
        var safe = NewTransaction() with { Snapshot = certifier.TakeSnapshot(mayWrite: false), ReadOnly = true, SafeSnapshot = true, Reads = [new ItemId("a", "t", "x")] };

        await coordinator.CommitAsync(safe, [a, b], async: true, CancellationToken.None);

        Assert.Equal(["prepare", "commit"], a.Calls);
        Assert.Equal(["prepare", "commit"], b.Calls);
        Assert.Empty(_log.Records);
        Assert.Equal(new CertificationSequence(0), certifier.LastCertified); // took no position: nothing to remember
        var wrote = new MemoryParticipant("a");
        await Assert.ThrowsAsync<ReadOnlyViolationException>(async () => await coordinator.CommitAsync(safe with { Id = TransactionId.New() }, [wrote], async: true, CancellationToken.None));
    }

    [Fact]
    public async Task A_participant_that_fails_to_finish_leaves_the_transaction_committed_for_recovery()
    {
        var (a, b) = (new MemoryParticipant("a"), new MemoryParticipant("b") { FailCommit = new IOException("connection lost") });

        await new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, b], async: true, CancellationToken.None);

        Assert.Equal([LogRecordKind.Commit], _log.Records.Select(r => r.Record.Kind));
        Assert.Contains(_log.Notes, n => n.Participant == "b" && n.Status == ParticipantStatus.InDoubt);
    }

    [Fact]
    public async Task An_earlier_abort_in_the_log_wins_over_a_late_commit()
    {
        var transaction = NewTransaction();
        await _log.AppendAsync(new LogRecord { Kind = LogRecordKind.Abort, TransactionId = transaction.Id, NodeId = "sweeper", Timestamp = DateTimeOffset.UtcNow });
        var a = new MemoryParticipant("a");

        await Assert.ThrowsAsync<TransactionAbortedException>(() => new CommitCoordinator(_log, "node").CommitAsync(transaction, [a, new MemoryParticipant("b")], async: true, CancellationToken.None).AsTask());

        Assert.Equal(["prepare", "rollback"], a.Calls);
    }

    [Fact]
    public async Task When_the_commit_record_cannot_be_confirmed_an_abort_record_settles_it()
    {
        _log.FailAppend = record => record.Kind == LogRecordKind.Commit ? new IOException("disk gone") : null;
        var a = new MemoryParticipant("a");

        await Assert.ThrowsAsync<IOException>(() => new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [a, new MemoryParticipant("b")], async: true, CancellationToken.None).AsTask());

        Assert.Equal(["prepare", "rollback"], a.Calls);
        Assert.Equal(LogRecordKind.Abort, Assert.Single(_log.Records).Record.Kind);
    }

    [Fact]
    public async Task When_the_log_is_unreachable_the_outcome_is_unknown_and_participants_are_abandoned_not_rolled_back()
    {
        _log.FailAppend = _ => new IOException("log unreachable");
        var a = new MemoryParticipant("a");
        var transaction = NewTransaction();

        var error = await Assert.ThrowsAsync<CommitOutcomeUnknownException>(() => new CommitCoordinator(_log, "node").CommitAsync(transaction, [a, new MemoryParticipant("b")], async: true, CancellationToken.None).AsTask());

        Assert.Equal(transaction.Id, error.TransactionId);
        Assert.Equal(["prepare", "abandon"], a.Calls);
    }

    [Fact]
    public async Task Steps_are_reported_in_protocol_order()
    {
        var steps = new List<CommitStep>();
        var coordinator = new CommitCoordinator(_log, "node") { StepObserver = (step, _) => { steps.Add(step); return ValueTask.CompletedTask; } };

        await coordinator.CommitAsync(NewTransaction(), [new MemoryParticipant("a"), new MemoryParticipant("b")], async: true, CancellationToken.None);

        Assert.Equal(
            [CommitStep.BeforePrepare, CommitStep.AfterParticipantPrepared, CommitStep.AfterParticipantPrepared, CommitStep.AfterAllPrepared,
             CommitStep.AfterDecisionLogged, CommitStep.AfterParticipantFinished, CommitStep.AfterParticipantFinished, CommitStep.BeforeEndRecord],
            steps);
    }

    [Fact]
    public async Task A_transaction_the_certifier_rejects_is_rolled_back_everywhere_and_fails_naming_the_item_and_the_other_transaction()
    {
        var certifier = new CommitCertifier();
        var coordinator = new CommitCoordinator(_log, "node", certifier: certifier);
        var first = NewTransaction() with { Snapshot = certifier.TakeSnapshot() };
        var second = NewTransaction() with { Snapshot = certifier.TakeSnapshot() };
        await coordinator.CommitAsync(first, [new MemoryParticipant("a")], async: true, CancellationToken.None);

        var participant = new MemoryParticipant("a");
        var conflict = await Assert.ThrowsAsync<SerializationConflictException>(() => coordinator.CommitAsync(second, [participant], async: true, CancellationToken.None).AsTask());

        Assert.Equal(("a", "t", "1"), (conflict.Participant, conflict.Table, conflict.Key));
        Assert.Contains(first.Id.ToString(), conflict.Message, StringComparison.Ordinal);
        Assert.Equal(["prepare-one-phase", "rollback"], participant.Calls);
        Assert.Equal(LogRecordKind.Abort, _log.Records[^1].Record.Kind);
        Assert.Equal(new CertificationSequence(2), certifier.TakeSnapshot()); // both settled: the rejected one holds nothing back
    }

    [Fact]
    public async Task A_single_participant_commits_in_one_phase_with_nothing_logged()
    {
        var participant = new MemoryParticipant("a");

        await new CommitCoordinator(_log, "node").CommitAsync(NewTransaction(), [participant], async: true, CancellationToken.None);

        Assert.Equal(["prepare-one-phase", "commit"], participant.Calls);
        Assert.Empty(_log.Records);
    }

    [Fact]
    public async Task At_snapshot_isolation_a_writing_transaction_does_not_validate_its_reads()
    {
        var (reader, writer) = (new MemoryParticipant("reader", writes: 0), new MemoryParticipant("writer"));

        await new CommitCoordinator(_log, "node").CommitAsync(NewTransaction() with { Serializable = false }, [reader, writer], async: true, CancellationToken.None);

        Assert.Equal(["prepare", "commit"], reader.Calls);
    }

    private static TransactionInfo NewTransaction() => new(TransactionId.New(), DateTimeOffset.UtcNow, "test");
}
