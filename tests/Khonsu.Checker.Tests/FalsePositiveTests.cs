using Khonsu.Checker.Checking;
using Khonsu.Checker.History;
using static Khonsu.Checker.Tests.H;

namespace Khonsu.Checker.Tests;

/// <summary>
/// The checker counts aborts a perfect certifier would not have made: transactions that failed at
/// commit and whose commit, then, would have left the history serializable. Every key starts at
/// value 0, version 1.
/// </summary>
public class FalsePositiveTests
{
    [Fact]
    public void An_abort_whose_commit_closes_no_cycle_is_a_false_positive()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t1", R("x", 0, 1), W("x", 1, 2)),
            T("t2", Outcome.Fail, R("y", 0, 1), W("y", 5, 2)),
        ]);

        Assert.True(result.Valid, string.Join("\n", result.Anomalies));
        Assert.Equal((1, 1), (result.AbortedAtCommit, result.FalsePositives));
    }

    [Fact]
    public void The_aborted_half_of_a_write_skew_was_needed()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t1", R("s1", 0, 1), R("p1", 0, 1), W("s1", 10, 2)),
            T("t2", Outcome.Fail, R("s1", 0, 1), R("p1", 0, 1), W("p1", 20, 2)),
        ]);

        Assert.Equal((1, 0), (result.AbortedAtCommit, result.FalsePositives));
    }

    [Fact]
    public void A_cycle_through_other_transactions_makes_the_abort_needed()
    {
        // Committed, t2 would have read x before t1 wrote it (t2 -rw-> t1); t4 read t1's x (t1 -wr-> t4) and the z
        // that t2 replaces (t4 -rw-> t2): t2 -> t1 -> t4 -> t2, a cycle with no edge between t2 and t1's own keys' writes.
        var result = HistoryChecker.Check(
        [
            Ok("t1", R("x", 0, 1), W("x", 1, 2)),
            Ok("t4", R("x", 1, 2), R("z", 0, 1)),
            T("t2", Outcome.Fail, R("x", 0, 1), W("z", 7, 2)),
        ]);

        Assert.True(result.Valid, string.Join("\n", result.Anomalies));
        Assert.Equal((1, 0), (result.AbortedAtCommit, result.FalsePositives));
    }

    [Fact]
    public void An_abort_that_lost_a_write_write_race_was_needed()
    {
        var result = HistoryChecker.Check(
        [
            Ok("t1", R("x", 0, 1), W("x", 1, 2)),
            T("t2", Outcome.Fail, R("x", 0, 1), W("x", 2, 2)),
        ]);

        Assert.Equal((1, 0), (result.AbortedAtCommit, result.FalsePositives));
    }

    [Fact]
    public void Only_aborts_that_ran_every_planned_op_are_counted()
    {
        var result = HistoryChecker.Check(
        [
            T("t1", Outcome.Fail, R("x", 0, 1), W("y", 3)), // the write never ran (no version)
            T("t2", Outcome.Fail, R("x", 0, 1)) with { Planned = [R("x", 0), R("y", 0)] }, // failed before its second read
            T("t3", Outcome.Fail, R("x", 0, 1), R("y", 0, 1)) with { Planned = [R("x", 0), R("y", 0)] },
        ]);

        Assert.Equal((3, 1, 1), (result.Aborted, result.AbortedAtCommit, result.FalsePositives));
    }
}
