using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Certification;

public class CommitCertifierTests
{
    private static readonly ItemId X = new("a", "t", "x");
    private static readonly ItemId Y = new("b", "t", "y");

    [Fact]
    public void A_snapshot_counts_a_certified_transaction_as_seen_only_once_it_has_finished()
    {
        var certifier = new CommitCertifier();
        var writer = TransactionId.New();
        Assert.True(certifier.Certify(Request(writer, certifier.TakeSnapshot(), reads: [], writes: [X]), serializable: true).Commit);

        var beforeFinish = certifier.TakeSnapshot();
        certifier.Finished(writer);
        var afterFinish = certifier.TakeSnapshot();

        Assert.Equal(new CertificationSequence(0), beforeFinish);
        Assert.Equal(new CertificationSequence(1), afterFinish);

        // Certified before its writes were visible everywhere: a write of X from that snapshot conflicts.
        Assert.False(certifier.Certify(Request(TransactionId.New(), beforeFinish, [], [X]), true).Commit);
        Assert.True(certifier.Certify(Request(TransactionId.New(), afterFinish, [], [X]), true).Commit);
    }

    [Fact]
    public void An_unfinished_transaction_holds_the_watermark_back_until_it_finishes()
    {
        var certifier = new CommitCertifier();
        var (slow, fast) = (TransactionId.New(), TransactionId.New());
        certifier.Certify(Request(slow, certifier.TakeSnapshot(), [], [X]), true);
        certifier.Certify(Request(fast, certifier.TakeSnapshot(), [], [Y]), true);

        certifier.Finished(fast);
        Assert.Equal(new CertificationSequence(0), certifier.TakeSnapshot()); // slow (position 1) is left to recovery

        certifier.Finished(slow);
        Assert.Equal(new CertificationSequence(2), certifier.TakeSnapshot());
    }

    [Fact]
    public void A_rejected_transaction_does_not_hold_the_watermark_back()
    {
        var certifier = new CommitCertifier();
        var first = TransactionId.New();
        var snapshot = certifier.TakeSnapshot();
        certifier.Certify(Request(first, snapshot, [], [X]), true);
        var rejected = certifier.Certify(Request(TransactionId.New(), snapshot, [], [X]), true);
        certifier.Finished(first);

        Assert.False(rejected.Commit);
        Assert.Equal(X, rejected.Item);
        Assert.Equal(first, rejected.ConflictsWith);
        Assert.Equal(new CertificationSequence(2), certifier.TakeSnapshot());
    }

    [Fact]
    public void History_no_live_snapshot_can_see_as_concurrent_is_forgotten()
    {
        var certifier = new CommitCertifier();
        var old = certifier.TakeSnapshot();
        for (var i = 0; i < 50; i++)
        {
            var id = TransactionId.New();
            var snapshot = certifier.TakeSnapshot();
            certifier.Certify(Request(id, snapshot, [X], [new ItemId("a", "t", i.ToString(System.Globalization.CultureInfo.InvariantCulture))]), true);
            certifier.Finished(id);
            certifier.ReleaseSnapshot(snapshot);
        }

        Assert.Equal(50, certifier.RememberedTransactions); // the old snapshot may still conflict with any of them

        certifier.ReleaseSnapshot(old);

        Assert.Equal(0, certifier.RememberedTransactions);
    }

    [Fact]
    public void A_writer_holds_back_only_the_watermarks_of_the_backends_it_has_not_committed_on()
    {
        var certifier = new CommitCertifier();
        var writer = TransactionId.New();
        certifier.Certify(Request(writer, certifier.TakeSnapshot(), [], [X, Y]), true);
        Assert.Equal((new CertificationSequence(0), new CertificationSequence(0)), (certifier.BackendWatermark("a"), certifier.BackendWatermark("b")));

        certifier.FinishedOn(writer, "a");

        // Its writes on "a" are visible there, those on "b" not yet; the global watermark waits for both.
        Assert.Equal((new CertificationSequence(1), new CertificationSequence(0)), (certifier.BackendWatermark("a"), certifier.BackendWatermark("b")));
        Assert.Equal(new CertificationSequence(0), certifier.TakeSnapshot());
        Assert.Equal(new CertificationSequence(1), certifier.BackendWatermark("c")); // never written: nothing to wait for
    }

    [Fact]
    public void A_transaction_in_doubt_holds_up_no_one_and_is_met_conservatively_until_it_finishes()
    {
        var certifier = new CommitCertifier();
        var stuck = TransactionId.New();
        var onB = new ItemId("b", "t", "stuck-row");
        certifier.Certify(Request(stuck, certifier.TakeSnapshot(), [], [X, onB]), true);
        certifier.FinishedOn(stuck, "a");
        certifier.InDoubt(stuck, ["b"]);

        // Every watermark moves past it: a thousand later transactions commit, each from a fresh snapshot.
        for (var i = 0; i < 1_000; i++)
        {
            var id = TransactionId.New();
            var row = new ItemId("b", "t", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(certifier.Certify(Request(id, certifier.TakeSnapshot(), [row], [row]), true).Commit);
            certifier.Finished(id);
        }

        Assert.Equal(new CertificationSequence(1_001), certifier.TakeSnapshot());
        Assert.Equal(new CertificationSequence(1_001), certifier.BackendWatermark("b"));

        // What it wrote where it is in doubt is refused, read or written; what it wrote where it finished is not.
        var refused = certifier.Certify(Request(TransactionId.New(), certifier.TakeSnapshot(), [onB], []), true);
        Assert.False(refused.Commit);
        Assert.Equal(stuck, refused.ConflictsWith);
        Assert.Contains("in doubt on backend 'b'", refused.Reason, StringComparison.Ordinal);
        Assert.True(certifier.Certify(Request(TransactionId.New(), certifier.TakeSnapshot(), [X], [X]), true).Commit);

        certifier.Finished(stuck); // recovery finished it
        Assert.True(certifier.Certify(Request(TransactionId.New(), certifier.TakeSnapshot(), [onB], [onB]), true).Commit);
        Assert.Equal(0, certifier.InDoubtTransactions);
    }

    private static CertificationRequest Request(TransactionId id, CertificationSequence snapshot, ItemId[] reads, ItemId[] writes) => new(id, snapshot, reads, writes);
}
