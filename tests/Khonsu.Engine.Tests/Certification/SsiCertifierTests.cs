using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Certification;

/// <summary>
/// The classic anomalies, each as a log-ordered sequence of certification requests. A request's
/// snapshot is the log position it saw; positions are the order of commit records.
/// </summary>
public class SsiCertifierTests
{
    private readonly SsiCertifier _certifier = new();
    private long _position;

    [Fact]
    public void Write_skew_across_two_backends_aborts_the_second_to_commit()
    {
        // Two doctors on call: each reads both rows (one per database), each takes itself off call.
        var alice = Request(snapshot: 0, reads: [Row("pg", "doctors", "alice"), Row("lite", "doctors", "bob")], writes: [Row("pg", "doctors", "alice")]);
        var bob = Request(snapshot: 0, reads: [Row("pg", "doctors", "alice"), Row("lite", "doctors", "bob")], writes: [Row("lite", "doctors", "bob")]);

        Assert.True(Commit(alice).Commit);
        var verdict = Commit(bob);

        Assert.False(verdict.Commit);
        Assert.Equal(alice.TransactionId, verdict.ConflictsWith);
        Assert.Contains("pivot", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Lost_update_aborts_the_second_writer()
    {
        var first = Request(snapshot: 0, reads: [Row("pg", "counter", "1")], writes: [Row("pg", "counter", "1")]);
        var second = Request(snapshot: 0, reads: [Row("pg", "counter", "1")], writes: [Row("pg", "counter", "1")]);

        Assert.True(Commit(first).Commit);
        var verdict = Commit(second);

        Assert.False(verdict.Commit);
        Assert.Contains("write-write", verdict.Reason, StringComparison.Ordinal);
        Assert.Equal(Row("pg", "counter", "1"), verdict.Item);
    }

    [Fact]
    public void The_read_only_anomaly_aborts_the_report_that_would_see_it()
    {
        // Fekete, O'Neil and O'Neil: a batch closes, a receipt is added to the closed batch, a
        // report reads the new batch number but not the receipt.
        var receipt = Request(snapshot: 0, reads: [Row("pg", "control", "batch")], writes: [Row("lite", "receipts", "r1")]);
        var closeBatch = Request(snapshot: 0, reads: [Row("pg", "control", "batch")], writes: [Row("pg", "control", "batch")]);
        Assert.True(Commit(closeBatch).Commit); // position 1
        var report = Request(snapshot: 1, reads: [Row("pg", "control", "batch"), Table("lite", "receipts")], writes: []);

        Assert.True(Commit(receipt).Commit); // position 2: receipt -rw-> closeBatch, which committed first
        var verdict = Commit(report);

        Assert.False(verdict.Commit);
        Assert.Equal(receipt.TransactionId, verdict.ConflictsWith);
    }

    [Fact]
    public void A_read_only_transaction_that_started_before_tout_committed_is_safe()
    {
        var receipt = Request(snapshot: 0, reads: [Row("pg", "control", "batch")], writes: [Row("lite", "receipts", "r1")]);
        var closeBatch = Request(snapshot: 0, reads: [Row("pg", "control", "batch")], writes: [Row("pg", "control", "batch")]);
        var report = Request(snapshot: 0, reads: [Row("pg", "control", "batch"), Table("lite", "receipts")], writes: [], visibleUpTo: 0);

        Assert.True(Commit(closeBatch).Commit);
        Assert.True(Commit(receipt).Commit);

        Assert.True(Commit(report).Commit); // saw neither: serializable before both
    }

    [Fact]
    public void A_read_only_transaction_whose_snapshot_may_include_tout_is_not_let_off()
    {
        // The report's snapshot position is 0 (the finished watermark when it began), but closeBatch
        // was certified by the time its backend snapshot was taken: it may have seen the new batch.
        var receipt = Request(snapshot: 0, reads: [Row("pg", "control", "batch")], writes: [Row("lite", "receipts", "r1")]);
        var closeBatch = Request(snapshot: 0, reads: [Row("pg", "control", "batch")], writes: [Row("pg", "control", "batch")]);
        Assert.True(Commit(closeBatch).Commit); // position 1
        var report = Request(snapshot: 0, reads: [Row("pg", "control", "batch"), Table("lite", "receipts")], writes: [], visibleUpTo: 1);
        Assert.True(Commit(receipt).Commit); // position 2

        var verdict = Commit(report);

        Assert.False(verdict.Commit);
        Assert.Equal(receipt.TransactionId, verdict.ConflictsWith);
    }

    [Fact]
    public void A_read_only_tin_whose_snapshot_may_include_tout_aborts_the_pivot_that_commits_after_it()
    {
        // The report commits first this time (a record on a shared log), so the receipt is the pivot.
        var receipt = Request(snapshot: 0, reads: [Row("pg", "control", "batch")], writes: [Row("lite", "receipts", "r1")]);
        var closeBatch = Request(snapshot: 0, reads: [Row("pg", "control", "batch")], writes: [Row("pg", "control", "batch")]);
        Assert.True(Commit(closeBatch).Commit); // position 1
        var report = Request(snapshot: 0, reads: [Row("pg", "control", "batch"), Table("lite", "receipts")], writes: []);
        Assert.True(Commit(report).Commit); // position 2; no bound given: it may have seen everything before it

        var verdict = Commit(receipt);

        Assert.False(verdict.Commit);
        Assert.Equal(closeBatch.TransactionId, verdict.ConflictsWith);
        Assert.Contains("pivot", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_phantom_through_a_predicate_read_aborts()
    {
        // T1 sums the orders of a customer (a table-level read) and records the total; T2 inserts an order.
        var total = Request(snapshot: 0, reads: [Table("pg", "orders"), Row("lite", "totals", "c1")], writes: [Row("lite", "totals", "c1")]);
        var insert = Request(snapshot: 0, reads: [Row("lite", "totals", "c1")], writes: [Row("pg", "orders", "o9")]);

        Assert.True(Commit(insert).Commit);
        Assert.False(Commit(total).Commit);
    }

    [Fact]
    public void A_g2_cycle_over_three_transactions_aborts_the_last()
    {
        // T1 reads x writes y, T2 reads y writes z, T3 reads z writes x: each reads what the next writes.
        var t1 = Request(snapshot: 0, reads: [Row("a", "t", "x")], writes: [Row("b", "t", "y")]);
        var t2 = Request(snapshot: 0, reads: [Row("b", "t", "y")], writes: [Row("a", "t", "z")]);
        var t3 = Request(snapshot: 0, reads: [Row("a", "t", "z")], writes: [Row("a", "t", "x")]);

        Assert.True(Commit(t1).Commit);
        Assert.True(Commit(t2).Commit); // t2 -rw-> ... t1 read x? no: t2 read y that t1 wrote: t2 -rw-> t1
        Assert.False(Commit(t3).Commit); // t3 -rw-> t2 (read z) and t1 -rw-> t3 (t1 read x): pivot with Tout first
    }

    [Fact]
    public void Disjoint_writers_all_commit()
    {
        for (var i = 0; i < 20; i++)
        {
            Assert.True(Commit(Request(snapshot: 0, reads: [Row("pg", "t", $"{i}")], writes: [Row("pg", "t", $"{i}")])).Commit);
        }
    }

    [Fact]
    public void Readers_with_writers_on_unrelated_rows_commit()
    {
        Assert.True(Commit(Request(snapshot: 0, reads: [Row("pg", "t", "1")], writes: [Row("lite", "u", "1")])).Commit);
        Assert.True(Commit(Request(snapshot: 0, reads: [Row("pg", "t", "2")], writes: [Row("lite", "u", "2")])).Commit);
        Assert.True(Commit(Request(snapshot: 0, reads: [Row("lite", "u", "3")], writes: [])).Commit);
    }

    [Fact]
    public void A_serial_interleaving_commits()
    {
        // The second sees the first (its snapshot is after the first's commit): no concurrency, no conflict.
        Assert.True(Commit(Request(snapshot: 0, reads: [Row("pg", "t", "1")], writes: [Row("pg", "t", "1")])).Commit);
        Assert.True(Commit(Request(snapshot: 1, reads: [Row("pg", "t", "1")], writes: [Row("pg", "t", "1")])).Commit);
    }

    [Fact]
    public void A_single_rw_edge_is_not_a_dangerous_structure()
    {
        // T1 read x, T2 wrote x concurrently: T1 -rw-> T2 alone is serializable (T1 before T2).
        Assert.True(Commit(Request(snapshot: 0, reads: [Row("pg", "t", "x")], writes: [Row("pg", "t", "y")])).Commit);
        Assert.True(Commit(Request(snapshot: 0, reads: [], writes: [Row("pg", "t", "x")])).Commit);
    }

    [Fact]
    public void Snapshot_isolation_checks_write_write_conflicts_only()
    {
        var alice = Request(snapshot: 0, reads: [Row("pg", "doctors", "alice"), Row("lite", "doctors", "bob")], writes: [Row("pg", "doctors", "alice")]);
        var bob = Request(snapshot: 0, reads: [Row("pg", "doctors", "alice"), Row("lite", "doctors", "bob")], writes: [Row("lite", "doctors", "bob")]);

        Assert.True(Commit(alice, serializable: false).Commit);
        Assert.True(Commit(bob, serializable: false).Commit); // write skew is allowed under snapshot isolation
    }

    [Fact]
    public void Verdicts_are_a_function_of_the_log_order_alone()
    {
        var requests = RandomWorkload(seed: 7, count: 300);

        var first = Replay(requests);
        var second = Replay(requests);

        Assert.Equal(first, second);
        Assert.Contains(false, first);
        Assert.Contains(true, first);
    }

    [Fact]
    public void Memory_stays_bounded_and_old_snapshots_are_certified_conservatively()
    {
        var certifier = new SsiCertifier(capacity: 100);
        for (var i = 1; i <= 1_000; i++)
        {
            var request = new CertificationRequest(TransactionId.New(), new CertificationSequence(i - 1), [Row("pg", "t", $"{i}")], [Row("pg", "t", $"{i}")]);
            Assert.True(certifier.Certify(request, new CertificationSequence(i)).Commit);
        }

        Assert.True(certifier.RememberedTransactions <= 100);

        // A transaction whose snapshot predates the forgotten writes of row 5 must not commit on it.
        var stale = new CertificationRequest(TransactionId.New(), new CertificationSequence(1), [Row("pg", "t", "5")], [Row("pg", "t", "x")]);
        Assert.False(certifier.Certify(stale, new CertificationSequence(1_001)).Commit);
    }

    private static List<bool> Replay(List<CertificationRequest> requests)
    {
        var certifier = new SsiCertifier(capacity: 50);
        return requests.Select((r, i) => certifier.Certify(r, new CertificationSequence(i + 1)).Commit).ToList();
    }

    private static List<CertificationRequest> RandomWorkload(int seed, int count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            ItemId Item() => Row(random.Next(2) == 0 ? "pg" : "lite", "t", random.Next(8).ToString(System.Globalization.CultureInfo.InvariantCulture));
            return new CertificationRequest(
                TransactionId.New(),
                new CertificationSequence(Math.Max(0, i - random.Next(5))),
                Enumerable.Range(0, random.Next(1, 4)).Select(_ => Item()).ToList(),
                Enumerable.Range(0, random.Next(0, 3)).Select(_ => Item()).ToList());
        }).ToList();
    }

    [Fact]
    public void A_reader_whose_snapshots_straddle_a_commit_on_two_backends_aborts_as_a_fractured_read()
    {
        var writer = Request(snapshot: 0, reads: [], writes: [Row("pg", "orders", "1"), Row("lite", "accounts", "1")]);
        Assert.True(Commit(writer).Commit); // position 1

        // Snapshot 0, its last backend snapshot taken once position 1 was certified: it may have seen half.
        var reader = Request(snapshot: 0, reads: [Table("pg", "orders"), Table("lite", "accounts")], writes: []) with { SnapshotsTakenBy = new CertificationSequence(1) };
        var verdict = Commit(reader);

        Assert.False(verdict.Commit);
        Assert.Equal(writer.TransactionId, verdict.ConflictsWith);
        Assert.Contains("fractured read", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reader_whose_snapshots_straddle_two_commits_one_per_backend_aborts_as_a_fractured_read()
    {
        // Found by the checker: T read PostgreSQL before A committed there, then SQLite after B
        // (which came after A) committed there. It saw B and missed A: T -rw-> A -> B -wr-> T.
        var a = Request(snapshot: 0, reads: [], writes: [Row("pg", "registers", "4")]);
        var b = Request(snapshot: 1, reads: [], writes: [Row("lite", "registers", "2")]);
        Assert.True(Commit(a).Commit); // position 1
        Assert.True(Commit(b).Commit); // position 2

        var reader = Request(snapshot: 0, reads: [Table("pg", "registers"), Table("lite", "registers")], writes: []) with { SnapshotsTakenBy = new CertificationSequence(2) };
        var verdict = Commit(reader);

        Assert.False(verdict.Commit);
        Assert.Equal(a.TransactionId, verdict.ConflictsWith);
        Assert.Contains("fractured read", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reader_whose_snapshots_all_came_before_a_commit_or_that_read_one_of_its_backends_is_not_fractured()
    {
        var writer = Request(snapshot: 0, reads: [], writes: [Row("pg", "orders", "1"), Row("lite", "accounts", "1")]);
        Assert.True(Commit(writer).Commit); // position 1

        var before = Request(snapshot: 0, reads: [Table("pg", "orders"), Table("lite", "accounts")], writes: []) with { SnapshotsTakenBy = new CertificationSequence(0) };
        var oneBackend = Request(snapshot: 0, reads: [Table("pg", "orders"), Table("lite", "other")], writes: []) with { SnapshotsTakenBy = new CertificationSequence(1) };

        Assert.True(Commit(before).Commit);
        Assert.True(Commit(oneBackend).Commit);
    }

    private CertificationResult Commit(CertificationRequest request, bool serializable = true)
        => _certifier.Certify(request, new CertificationSequence(++_position), serializable);

    private static CertificationRequest Request(long snapshot, ItemId[] reads, ItemId[] writes, long? visibleUpTo = null)
        => new(TransactionId.New(), new CertificationSequence(snapshot), reads, writes) { VisibleUpTo = visibleUpTo is { } bound ? new CertificationSequence(bound) : null };

    private static ItemId Row(string backend, string table, string key) => new(backend, table, key);

    private static ItemId Table(string backend, string table) => new(backend, table, null);
}
