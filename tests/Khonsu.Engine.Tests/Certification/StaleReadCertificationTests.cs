using Khonsu.Engine.Certification;

namespace Khonsu.Engine.Tests.Certification;

/// <summary>
/// Rows a participant found changed since the snapshot (<see cref="CertificationRequest.StaleReads"/>):
/// each is an rw-antidependency, admitted when the certifier knows the writer and no dangerous
/// structure forms, refused when no transaction it remembers explains the change.
/// </summary>
public class StaleReadCertificationTests
{
    private readonly SsiCertifier _certifier = new();
    private long _position;

    [Fact]
    public void A_row_changed_by_a_concurrent_writer_the_certifier_knows_is_one_rw_edge_and_commits()
    {
        var writer = Request(snapshot: 0, reads: [], writes: [Row("x")]);
        Assert.True(Commit(writer).Commit);

        var reader = Request(snapshot: 0, reads: [Row("x")], writes: [Row("y")], stale: [Row("x")]);

        Assert.True(Commit(reader).Commit); // reader -rw-> writer: the reader serializes first
    }

    [Fact]
    public void Write_skew_whose_second_writer_found_its_read_changed_is_still_refused_as_a_pivot()
    {
        var alice = Request(snapshot: 0, reads: [Row("alice"), Row("bob")], writes: [Row("bob")]);
        var bob = Request(snapshot: 0, reads: [Row("alice"), Row("bob")], writes: [Row("alice")], stale: [Row("bob")]);
        Assert.True(Commit(alice).Commit);

        var verdict = Commit(bob);

        Assert.False(verdict.Commit);
        Assert.Contains("pivot", verdict.Reason, StringComparison.Ordinal);
        Assert.Equal(alice.TransactionId, verdict.ConflictsWith);
    }

    [Fact]
    public void A_row_changed_with_no_remembered_writer_is_refused()
    {
        var reader = Request(snapshot: 0, reads: [Row("x")], writes: [Row("y")], stale: [Row("x")]);

        var verdict = Commit(reader);

        Assert.False(verdict.Commit);
        Assert.Equal(Row("x"), verdict.Item);
        Assert.Contains("does not know", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_writer_committed_before_the_snapshot_does_not_explain_a_changed_row()
    {
        Assert.True(Commit(Request(snapshot: 0, reads: [], writes: [Row("x")])).Commit); // position 1

        var verdict = Commit(Request(snapshot: 1, reads: [Row("x")], writes: [Row("y")], stale: [Row("x")]));

        Assert.False(verdict.Commit);
        Assert.Equal(Row("x"), verdict.Item);
    }

    [Fact]
    public void A_writer_the_backend_snapshot_saw_does_not_explain_a_changed_row()
    {
        Assert.True(Commit(Request(snapshot: 0, reads: [], writes: [Row("x")])).Commit); // position 1
        var reader = Request(snapshot: 0, reads: [Row("x")], writes: [Row("y")], stale: [Row("x")]) with
        {
            BackendSnapshots = new Dictionary<string, CertificationSequence> { ["pg"] = new(1) },
        };

        var verdict = Commit(reader);

        Assert.False(verdict.Commit);
        Assert.Equal(Row("x"), verdict.Item);
    }

    private CertificationResult Commit(CertificationRequest request)
        => _certifier.Certify(request, new CertificationSequence(++_position));

    private static CertificationRequest Request(long snapshot, ItemId[] reads, ItemId[] writes, ItemId[]? stale = null)
        => new(TransactionId.New(), new CertificationSequence(snapshot), reads, writes) { StaleReads = stale ?? [] };

    private static ItemId Row(string key) => new("pg", "t", key);
}
