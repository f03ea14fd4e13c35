using Khonsu.Checker.Checking;
using Khonsu.Checker.History;
using static Khonsu.Checker.Tests.H;

namespace Khonsu.Checker.Tests;

/// <summary>Hand-made histories, one per anomaly, and clean ones: the checker names exactly what is there.</summary>
public class HistoryCheckerTests
{
    // Every key starts at value 0, version 1 unless a test says otherwise; writes install versions 2, 3, ...

    [Fact]
    public void A_serial_history_is_clean()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t1", R("x", 0, 1), W("x", 1, 2), R("y", 0, 1)),
            Ok("t2", R("x", 1, 2), W("y", 2, 2)),
            Ok("t3", R("x", 1, 2), R("y", 2, 2), W("x", 3, 3)),
            T("t4", Outcome.Fail, R("x", 3, 3), W("x", 4, 4)),
        ]);

        Assert.True(result.Valid, string.Join("\n", result.Anomalies));
        Assert.Equal((3, 1, 0), (result.Committed, result.Aborted, result.Unknown));
    }

    [Fact]
    public void Write_skew_is_G2_item_with_both_transactions()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t1", R("s1", 0, 1), R("p1", 0, 1), W("s1", 10, 2)),
            Ok("t2", R("s1", 0, 1), R("p1", 0, 1), W("p1", 20, 2)),
        ]);

        var anomaly = Assert.Single(result.Anomalies);
        Assert.Equal(AnomalyNames.G2Item, anomaly.Name);
        Assert.Equal(["t1", "t2"], anomaly.Transactions.Order(StringComparer.Ordinal));
        Assert.Contains("-rw(s1)->", anomaly.Explanation, StringComparison.Ordinal);
        Assert.Contains("-rw(p1)->", anomaly.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_skew_is_G_single()
    {
        // t2 writes x and y together; t1 sees the old x and the new y.
        var result = HistoryChecker.Check(
        [
            Ok("t2", W("x", 1, 2), W("y", 2, 2)),
            Ok("t1", R("x", 0, 1), R("y", 2, 2)),
        ]);

        var anomaly = Assert.Single(result.Anomalies);
        Assert.Equal(AnomalyNames.GSingle, anomaly.Name);
        Assert.Equal(["t1", "t2"], anomaly.Transactions.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_write_cycle_is_G0()
    {
        // t1 then t2 on x, t2 then t1 on y.
        var result = HistoryChecker.Check(
        [
            Ok("t1", W("x", 1, 2), W("y", 1, 3)),
            Ok("t2", W("x", 2, 3), W("y", 2, 2)),
        ]);

        Assert.Equal([AnomalyNames.G0], result.Anomalies.Select(a => a.Name));
        Assert.Equal(["t1", "t2"], result.Anomalies[0].Transactions.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Cyclic_information_flow_is_G1c()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t1", W("x", 1, 2), R("y", 2, 2)),
            Ok("t2", W("y", 2, 2), R("x", 1, 2)),
        ]);

        Assert.Contains(result.Anomalies, a => a.Name == AnomalyNames.G1c && a.Transactions.Order(StringComparer.Ordinal).SequenceEqual(["t1", "t2"]));
        Assert.DoesNotContain(result.Anomalies, a => a.Name == AnomalyNames.G0);
    }

    [Fact]
    public void Reading_a_failed_write_is_G1a()
    {
        var result = HistoryChecker.Check(
        [
            T("t1", Outcome.Fail, W("x", 1, 2)),
            Ok("t2", R("x", 1, 2)),
        ]);

        var anomaly = Assert.Single(result.Anomalies);
        Assert.Equal(AnomalyNames.G1a, anomaly.Name);
        Assert.Equal(["t2", "t1"], anomaly.Transactions);
    }

    [Fact]
    public void Reading_an_overwritten_intermediate_value_is_G1b()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t1", W("x", 1, 2), W("x", 2, 3)),
            Ok("t2", R("x", 1, 2)),
        ]);

        var anomaly = Assert.Single(result.Anomalies);
        Assert.Equal(AnomalyNames.G1b, anomaly.Name);
        Assert.Equal(["t2", "t1"], anomaly.Transactions);
    }

    [Fact]
    public void Two_writers_of_one_read_version_is_a_lost_update()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t1", R("x", 0, 1), W("x", 1, 2)),
            Ok("t2", R("x", 0, 1), W("x", 2, 3)),
        ]);

        Assert.Contains(result.Anomalies, a => a.Name == AnomalyNames.LostUpdate && a.Transactions.Order(StringComparer.Ordinal).SequenceEqual(["t1", "t2"]));
        Assert.Contains(result.Anomalies, a => a.Name == AnomalyNames.GSingle); // t2 -rw-> t1 -ww-> t2
    }

    [Fact]
    public void A_cycle_with_two_non_adjacent_rw_edges_is_G_nonadjacent()
    {
        // t1 -rw(x)-> t2 -wr(y)-> t3 -rw(z)-> t4 -wr(w)-> t1
        var result = HistoryChecker.Check(
        [
            Ok("t1", R("x", 0, 1), R("w", 4, 2)),
            Ok("t2", W("x", 1, 2), W("y", 2, 2)),
            Ok("t3", R("y", 2, 2), R("z", 0, 1)),
            Ok("t4", W("z", 3, 2), W("w", 4, 2)),
        ]);

        var anomaly = Assert.Single(result.Anomalies);
        Assert.Equal(AnomalyNames.GNonadjacent, anomaly.Name);
        Assert.Equal(4, anomaly.Transactions.Count);
    }

    [Fact]
    public void A_transaction_that_misses_its_own_write_is_internal()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t0", W("x", 5, 2)),
            Ok("t1", W("x", 1, 3), R("x", 5, 2)),
        ]);

        Assert.Contains(result.Anomalies, a => a.Name == AnomalyNames.Internal && a.Transactions.SequenceEqual(["t1"]));
    }

    [Fact]
    public void A_read_of_a_value_nobody_wrote_is_garbage()
    {
        var result = HistoryChecker.Check([Ok("t1", R("x", 42, 7))]);

        Assert.Equal([AnomalyNames.GarbageRead], result.Anomalies.Select(a => a.Name));
    }

    [Fact]
    public void An_unknown_outcome_writer_counts_as_possibly_committed_and_its_reads_are_not_trusted()
    {
        // t1 is unknown: its write may have happened (t2 read it: no G1a); its read of y, if trusted, would close a G1c cycle.
        var result = HistoryChecker.Check(
        [
            T("t1", Outcome.Unknown, R("y", 2, 2), W("x", 1, 2)),
            Ok("t2", R("x", 1, 2), W("y", 2, 2)),
        ]);

        Assert.True(result.Valid, string.Join("\n", result.Anomalies));
        Assert.Equal((1, 0, 1), (result.Committed, result.Aborted, result.Unknown));
    }

    [Fact]
    public void An_unknown_outcome_writer_can_still_close_a_cycle()
    {
        // t3 (unknown) overwrote x after t1 and before t2 by version order: t1 -ww-> t3 -ww-> t2, and t2 -ww-> t1 on y.
        var result = HistoryChecker.Check(
        [
            Ok("t1", W("x", 1, 2), W("y", 1, 3)),
            T("t3", Outcome.Unknown, W("x", 3, 3)),
            Ok("t2", W("x", 2, 4), W("y", 2, 2)),
        ]);

        var anomaly = Assert.Single(result.Anomalies);
        Assert.Equal(AnomalyNames.G0, anomaly.Name);
        Assert.Equal(["t1", "t2", "t3"], anomaly.Transactions.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_audit_rows_resolve_unknown_outcomes_and_find_lost_and_partial_commits()
    {
        var history = new[]
        {
            Ok("ok", W("s1", 1), W("p1", 2)),          // both present
            Ok("lost", W("s2", 3)),                    // acknowledged, absent
            T("half", Outcome.Unknown, W("s3", 4), W("p3", 5)), // present on SQLite only
            T("gone", Outcome.Unknown, W("p4", 6)),    // never committed
            Ok("reader", R("s1", 1, 2), R("p1", 2, 2)),
        };
        var keys = new[] { "s1", "p1", "s2", "s3", "p3", "p4" };
        var state = new FinalState(
            Initial: [.. keys.Select(k => Reg(k, 0, 1))],
            Final: [Reg("s1", 1, 2), Reg("p1", 2, 2), Reg("s2", 0, 1), Reg("s3", 4, 2), Reg("p3", 0, 1), Reg("p4", 0, 1)],
            Installed: [Installed("ok", "s1", 1, 2), Installed("ok", "p1", 2, 2), Installed("half", "s3", 4, 2)]);

        var result = HistoryChecker.Check(history, state);

        Assert.Empty(result.Anomalies);
        Assert.Equal("lost", Assert.Single(result.Lost).TransactionId);
        var partial = Assert.Single(result.Partial);
        Assert.Equal(("half", "sqlite", "postgres"), (partial.TransactionId, partial.PresentBackends.Single(), partial.MissingBackends.Single()));
        Assert.Equal((3, 1, 0), (result.Committed, result.Aborted, result.Unknown)); // ok, half, reader; gone
    }

    [Fact]
    public void Reading_a_write_whose_transaction_never_committed_by_the_audit_is_G1a()
    {
        var state = new FinalState([Reg("s1", 0, 1)], [Reg("s1", 0, 1)], Installed: []);

        var result = HistoryChecker.Check([T("t1", Outcome.Unknown, W("s1", 1)), Ok("t2", R("s1", 1, 2))], state);

        Assert.Equal([AnomalyNames.G1a], result.Anomalies.Select(a => a.Name));
    }

    [Fact]
    public void A_failed_transaction_found_in_the_database_is_reported()
    {
        var state = new FinalState([Reg("s1", 0, 1)], [Reg("s1", 1, 2)], Installed: [Installed("t1", "s1", 1, 2)]);

        var result = HistoryChecker.Check([T("t1", Outcome.Fail, W("s1", 1))], state);

        Assert.Equal([AnomalyNames.FailedButCommitted], result.Anomalies.Select(a => a.Name));
    }

    [Fact]
    public void A_final_row_that_is_not_the_last_committed_write_is_a_version_conflict()
    {
        var state = new FinalState([Reg("s1", 0, 1)], [Reg("s1", 1, 2)], Installed: [Installed("t1", "s1", 1, 2), Installed("t2", "s1", 2, 3)]);

        var result = HistoryChecker.Check([Ok("t1", W("s1", 1)), Ok("t2", W("s1", 2))], state);

        Assert.Equal([AnomalyNames.VersionConflict], result.Anomalies.Select(a => a.Name));
    }

    [Fact]
    public void Without_audit_rows_an_acknowledged_write_beyond_the_final_row_is_lost()
    {
        var state = new FinalState([Reg("x", 0, 1)], [Reg("x", 1, 2)]);

        var result = HistoryChecker.Check([Ok("t1", W("x", 1, 2)), Ok("t2", W("x", 2, 3))], state);

        Assert.Equal("t2", Assert.Single(result.Lost).TransactionId);
    }

    [Fact]
    public void Duplicate_written_values_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => HistoryChecker.Check([Ok("t1", W("x", 1)), Ok("t2", W("x", 1))]));
    }

    [Fact]
    public void An_invocation_without_completion_is_an_unknown_outcome()
    {
        var history = new TransactionHistory();
        history.Invoke("a", 1, [W("x", 1)]);
        history.Invoke("b", 2, [R("x", 0), W("y", 2)]);
        history.Complete("b", 2, Outcome.Ok, [R("x", 1, 2), W("y", 2, 2)]);

        var transactions = history.Transactions();

        Assert.Equal([Outcome.Unknown, Outcome.Ok], transactions.Select(t => t.Outcome));
        Assert.True(HistoryChecker.Check(transactions).Valid);
    }

    [Fact]
    public void A_long_serial_chain_is_clean_and_a_large_write_skew_ring_is_found()
    {
        // 2,000 serial transactions each reading the previous one's write: no cycle.
        var serial = Enumerable.Range(1, 2000).Select(i => Ok($"t{i}", R("x", i - 1, i), W("x", i, i + 1))).ToList();
        Assert.True(HistoryChecker.Check(serial).Valid);

        // A ring of 50 transactions, each reading key i and i+1 (mod 50) at their initial versions and writing key i.
        var ring = Enumerable.Range(0, 50).Select(i => Ok($"r{i}", R($"k{i}", 0, 1), R($"k{(i + 1) % 50}", 0, 1), W($"k{i}", 1000 + i, 2))).ToList();
        var result = HistoryChecker.Check(ring);
        Assert.Contains(result.Anomalies, a => a.Name == AnomalyNames.G2Item && a.Transactions.Count == 50);
    }
}
