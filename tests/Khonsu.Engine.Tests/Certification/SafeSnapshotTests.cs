using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Certification;

/// <summary>Safe snapshots for deferrable read-only transactions (<see cref="CommitCertifier.OpenSafeSnapshotAsync"/>).</summary>
public class SafeSnapshotTests
{
    private static readonly ItemId Control = new("ledger", "control", "1");
    private static readonly ItemId Receipt = new("shop", "receipts", "1");
    private static readonly ItemId Other = new("shop", "other", "1");

    [Fact]
    public async Task With_no_writer_holding_an_older_snapshot_the_candidate_is_safe_at_once()
    {
        var certifier = new CommitCertifier();
        var reader = certifier.TakeSnapshot(mayWrite: false); // declared read-only: never waited for
        Commit(certifier, null, [], [Control]);

        var candidate = await certifier.OpenSafeSnapshotAsync(CancellationToken.None);

        Assert.Equal(new CertificationSequence(1), candidate.Position);
        Assert.True(certifier.AwaitSafeAsync(candidate, CancellationToken.None).IsCompletedSuccessfully);
        Assert.True(await certifier.AwaitSafeAsync(candidate, CancellationToken.None));
        certifier.CloseSafeSnapshot(candidate, keepSnapshot: false);
        certifier.ReleaseSnapshot(reader, mayWrite: false);
        Assert.Equal(0, certifier.SafeSnapshotCandidates);
    }

    [Fact]
    public async Task The_read_only_anomaly_pivot_makes_the_candidate_unsafe_and_the_next_one_is_safe()
    {
        // Fekete et al.: receipt reads the batch, close bumps it and commits, a report begins, then
        // receipt inserts into the old batch: receipt -rw-> close, close visible to the report.
        var certifier = new CommitCertifier();
        var receiptSnapshot = certifier.TakeSnapshot();
        Commit(certifier, null, [Control], [Control]);

        var first = await certifier.OpenSafeSnapshotAsync(CancellationToken.None);
        var waiting = certifier.AwaitSafeAsync(first, CancellationToken.None);
        Assert.False(waiting.IsCompleted); // receipt holds an older snapshot and may write

        Commit(certifier, receiptSnapshot, [Control], [Receipt]);
        Assert.False(await waiting);
        certifier.ReleaseSnapshot(receiptSnapshot);
        certifier.CloseSafeSnapshot(first, keepSnapshot: false);

        var second = await certifier.OpenSafeSnapshotAsync(CancellationToken.None);
        Assert.Equal(new CertificationSequence(2), second.Position);
        Assert.True(await certifier.AwaitSafeAsync(second, CancellationToken.None));
        certifier.CloseSafeSnapshot(second, keepSnapshot: false);
    }

    [Fact]
    public async Task A_concurrent_writer_without_a_conflict_to_what_the_candidate_sees_leaves_it_safe_when_it_ends()
    {
        var certifier = new CommitCertifier();
        var writerSnapshot = certifier.TakeSnapshot();
        Commit(certifier, null, [Control], [Control]);

        var candidate = await certifier.OpenSafeSnapshotAsync(CancellationToken.None);
        var waiting = certifier.AwaitSafeAsync(candidate, CancellationToken.None);
        Commit(certifier, writerSnapshot, [Other], [Receipt]);
        Assert.False(waiting.IsCompleted); // committed, but its snapshot is held until it ends

        certifier.ReleaseSnapshot(writerSnapshot);
        Assert.True(await waiting);
        Assert.False(certifier.CutTaken(candidate)); // so a caller that had not finished its backend snapshots would take them again
        certifier.CloseSafeSnapshot(candidate, keepSnapshot: false);
    }

    [Fact]
    public async Task A_candidate_opens_only_when_no_writer_is_committing_and_notices_a_writer_certified_after_it()
    {
        var certifier = new CommitCertifier();
        var committing = TransactionId.New();
        Assert.True(certifier.Certify(new CertificationRequest(committing, certifier.TakeSnapshot(), [], [Control]), serializable: true).Commit);

        var opening = certifier.OpenSafeSnapshotAsync(CancellationToken.None);
        Assert.False(opening.IsCompleted); // its commit may be landing on one backend and not yet on another
        certifier.Finished(committing);
        var candidate = await opening;
        Assert.Equal(new CertificationSequence(1), candidate.Position);

        Commit(certifier, null, [], [Receipt]); // Certify itself does not wait at the gate
        Assert.False(certifier.CutTaken(candidate));
        certifier.CloseSafeSnapshot(candidate, keepSnapshot: false);
    }

    [Fact]
    public async Task Writers_wait_at_the_gate_while_a_candidate_takes_its_snapshots_so_one_opens_under_writers_that_never_pause()
    {
        var certifier = new CommitCertifier();
        var first = TransactionId.New();
        var firstSnapshot = certifier.TakeSnapshot();
        Assert.True((await certifier.CertifyAsync(new CertificationRequest(first, firstSnapshot, [], [Control]), true, async: true, CancellationToken.None)).Commit);

        var opening = certifier.OpenSafeSnapshotAsync(CancellationToken.None);
        var second = TransactionId.New();
        var secondSnapshot = certifier.TakeSnapshot();
        var waitingWriter = certifier.CertifyAsync(new CertificationRequest(second, secondSnapshot, [], [Receipt]), true, async: true, CancellationToken.None);
        var readerId = TransactionId.New();
        var reader = certifier.CertifyAsync(new CertificationRequest(readerId, certifier.TakeSnapshot(mayWrite: false), [Other], []), true, async: true, CancellationToken.None);
        Assert.False(waitingWriter.IsCompleted); // held at the gate: it would otherwise keep the certifier from ever being quiet
        Assert.True(reader.IsCompletedSuccessfully); // read-only transactions never wait

        certifier.Finished(readerId);
        certifier.Finished(first);
        certifier.ReleaseSnapshot(firstSnapshot);
        var candidate = await opening;
        Assert.Equal(new CertificationSequence(2), candidate.Position); // the writer's and the reader's certifications
        Assert.False(waitingWriter.IsCompleted);

        Assert.True(certifier.CutTaken(candidate)); // no writer certified while the snapshots were taken
        Assert.True((await waitingWriter).Commit);
        certifier.Finished(second);
        certifier.ReleaseSnapshot(secondSnapshot);
        Assert.True(await certifier.AwaitSafeAsync(candidate, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        certifier.CloseSafeSnapshot(candidate, keepSnapshot: false);
    }

    [Fact]
    public async Task A_cancelled_opening_opens_the_gate_and_a_cancelled_writer_leaves_it_to_the_others()
    {
        var certifier = new CommitCertifier();
        var first = TransactionId.New();
        Assert.True(certifier.Certify(new CertificationRequest(first, certifier.TakeSnapshot(), [], [Control]), serializable: true).Commit);
        using var cancelOpening = new CancellationTokenSource();
        using var cancelWriter = new CancellationTokenSource();
        var opening = certifier.OpenSafeSnapshotAsync(cancelOpening.Token);
        var cancelled = certifier.CertifyAsync(new CertificationRequest(TransactionId.New(), certifier.TakeSnapshot(), [], [Receipt]), true, async: true, cancelWriter.Token);
        var waiting = certifier.CertifyAsync(new CertificationRequest(TransactionId.New(), certifier.TakeSnapshot(), [], [Other]), true, async: true, CancellationToken.None);

        await cancelWriter.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled);
        Assert.False(waiting.IsCompleted);

        await cancelOpening.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await opening);
        Assert.True((await waiting).Commit);
    }

    [Fact]
    public async Task Cancelling_a_wait_leaves_no_candidate_behind_and_history_is_forgotten()
    {
        var certifier = new CommitCertifier();
        var writerSnapshot = certifier.TakeSnapshot();
        Commit(certifier, null, [Control], [Control]);
        var candidate = await certifier.OpenSafeSnapshotAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();

        var waiting = certifier.AwaitSafeAsync(candidate, cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        certifier.CloseSafeSnapshot(candidate, keepSnapshot: false);
        certifier.ReleaseSnapshot(writerSnapshot);
        Assert.Equal(0, certifier.SafeSnapshotCandidates);
        Assert.Equal(0, certifier.RememberedTransactions);
    }

    /// <summary>Commits a transaction; one given no snapshot takes its own and ends, as a transaction does.</summary>
    private static void Commit(CommitCertifier certifier, CertificationSequence? snapshot, ItemId[] reads, ItemId[] writes)
    {
        var id = TransactionId.New();
        var own = snapshot is null ? certifier.TakeSnapshot() : (CertificationSequence?)null;
        Assert.True(certifier.Certify(new CertificationRequest(id, snapshot ?? own!.Value, reads, writes), serializable: true).Commit);
        certifier.Finished(id);
        if (own is { } taken)
        {
            certifier.ReleaseSnapshot(taken);
        }
    }
}
