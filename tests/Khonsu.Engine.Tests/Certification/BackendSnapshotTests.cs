using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Certification;

/// <summary>
/// A transaction takes its snapshot on each backend when it first reaches it, so a later backend's
/// snapshot may already see a commit that the first one did not. What each backend's snapshot
/// certainly saw (<see cref="CertificationRequest.BackendSnapshots"/>) orders those commits before
/// the transaction there; the transaction is refused only if what it saw is no cut of the commit order.
/// </summary>
public class BackendSnapshotTests
{
    private static readonly ItemId LedgerRow = ItemId.Of("ledger", "accounts", "1");
    private static readonly ItemId ShopRow = ItemId.Of("shop", "orders", "7");

    [Fact]
    public void A_write_over_a_commit_the_backend_snapshot_saw_is_no_conflict_and_its_twin_that_did_not_see_it_is()
    {
        // X committed at 1, on the shop, after T's ledger snapshot (0) and before its shop snapshot (1).
        var seen = NewCertifierWithCommit(out _);
        var sawIt = Request(snapshot: 0, writes: [LedgerRow, ShopRow], backends: [("ledger", 0), ("shop", 1)]);
        Assert.True(seen.Certify(sawIt, new CertificationSequence(2)).Commit);

        var missed = NewCertifierWithCommit(out var x);
        var didNot = Request(snapshot: 0, writes: [LedgerRow, ShopRow], backends: [("ledger", 0), ("shop", 0)]);
        var verdict = missed.Certify(didNot, new CertificationSequence(2));
        Assert.False(verdict.Commit);
        Assert.Equal(ShopRow, verdict.Item);
        Assert.Equal(x, verdict.ConflictsWith);
    }

    [Fact]
    public void A_read_of_a_commit_the_backend_snapshot_saw_is_no_antidependency()
    {
        // X wrote the shop row and read the ledger row; T reads the shop row, then writes the ledger
        // row X read. Having seen X's write, T comes after X: X -rw-> T alone, no cycle.
        var certifier = new SsiCertifier();
        var x = TransactionId.New();
        Assert.True(certifier.Certify(new CertificationRequest(x, new CertificationSequence(0), [LedgerRow], [ShopRow]), new CertificationSequence(1)).Commit);

        var sawIt = Request(snapshot: 0, reads: [ShopRow], writes: [LedgerRow], backends: [("ledger", 0), ("shop", 1)]);
        Assert.True(certifier.Check(sawIt, new CertificationSequence(2)).Commit);

        // The twin that read the shop before X committed there: T -rw-> X -rw-> T, refused.
        var didNot = Request(snapshot: 0, reads: [ShopRow], writes: [LedgerRow], backends: [("ledger", 0), ("shop", 0)]);
        Assert.False(certifier.Check(didNot, new CertificationSequence(2)).Commit);
    }

    [Fact]
    public void Seeing_part_of_a_commit_on_one_backend_and_maybe_not_its_other_part_is_a_fractured_read()
    {
        // X wrote both rows; T's shop snapshot saw it, its ledger snapshot (taken earlier) did not.
        var certifier = new SsiCertifier();
        var x = TransactionId.New();
        Assert.True(certifier.Certify(new CertificationRequest(x, new CertificationSequence(0), [], [LedgerRow, ShopRow]), new CertificationSequence(1)).Commit);

        var half = Request(snapshot: 0, reads: [LedgerRow, ShopRow], backends: [("ledger", 0), ("shop", 1)]);
        var verdict = certifier.Check(half, new CertificationSequence(2));
        Assert.False(verdict.Commit);
        Assert.Contains("fractured read", verdict.Reason, StringComparison.Ordinal);
        Assert.Equal(x, verdict.ConflictsWith);

        // Both snapshots after it: it saw all of X.
        var whole = Request(snapshot: 0, reads: [LedgerRow, ShopRow], backends: [("ledger", 1), ("shop", 1)]);
        Assert.True(certifier.Check(whole, new CertificationSequence(2)).Commit);
    }

    [Fact]
    public void Seeing_a_later_commit_but_maybe_not_an_earlier_one_is_refused_and_the_other_way_round_is_a_cut()
    {
        // A (position 1) wrote the ledger row, B (position 2) the shop row.
        var certifier = new SsiCertifier();
        var (a, b) = (TransactionId.New(), TransactionId.New());
        Assert.True(certifier.Certify(new CertificationRequest(a, new CertificationSequence(0), [], [LedgerRow]), new CertificationSequence(1)).Commit);
        Assert.True(certifier.Certify(new CertificationRequest(b, new CertificationSequence(0), [], [ShopRow]), new CertificationSequence(2)).Commit);

        // Saw B (shop snapshot 2) but maybe not A (ledger snapshot 0): no serial order has that view.
        var later = Request(snapshot: 0, reads: [LedgerRow, ShopRow], backends: [("ledger", 0), ("shop", 2)]);
        var verdict = certifier.Check(later, new CertificationSequence(3));
        Assert.False(verdict.Commit);
        Assert.Equal(a, verdict.ConflictsWith);

        // Saw A but maybe not B: the cut between them.
        var earlier = Request(snapshot: 0, reads: [LedgerRow, ShopRow], backends: [("ledger", 1), ("shop", 0)]);
        Assert.True(certifier.Check(earlier, new CertificationSequence(3)).Commit);
    }

    private static SsiCertifier NewCertifierWithCommit(out TransactionId writer)
    {
        var certifier = new SsiCertifier();
        writer = TransactionId.New();
        Assert.True(certifier.Certify(new CertificationRequest(writer, new CertificationSequence(0), [], [ShopRow]), new CertificationSequence(1)).Commit);
        return certifier;
    }

    private static CertificationRequest Request(long snapshot, ItemId[]? reads = null, ItemId[]? writes = null, (string Backend, long Position)[]? backends = null)
        => new(TransactionId.New(), new CertificationSequence(snapshot), reads ?? [], writes ?? [])
        {
            BackendSnapshots = backends?.ToDictionary(b => b.Backend, b => new CertificationSequence(b.Position), StringComparer.OrdinalIgnoreCase),
        };
}
