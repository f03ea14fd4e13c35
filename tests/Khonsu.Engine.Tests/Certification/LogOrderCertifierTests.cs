using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.SharedLog;

namespace Khonsu.Engine.Tests.Certification;

public sealed class LogOrderCertifierTests
{
    private static readonly ItemId X = new("a", "t", "x");
    private static readonly ItemId Y = new("b", "t", "y");

    [Fact]
    public void Two_processes_applying_the_same_records_reach_the_same_verdicts()
    {
        // Write skew across two backends: each read what the other writes, from the same snapshot.
        var log = new[]
        {
            Commit(snapshot: -1, reads: [X], writes: [Y]),
            Commit(snapshot: -1, reads: [Y], writes: [X]),
            Commit(snapshot: -1, reads: [], writes: [new ItemId("a", "t", "z")]),
        };

        var first = Apply(new LogOrderCertifier(), log);
        var second = Apply(new LogOrderCertifier(), log);

        Assert.Equal([true, false, true], first.Select(v => v.Commit));
        Assert.Equal(first.Select(v => (v.Commit, v.Item, v.ConflictsWith)), second.Select(v => (v.Commit, v.Item, v.ConflictsWith)));
        Assert.Equal(log[0].TransactionId, first[1].ConflictsWith);
    }

    [Fact]
    public void The_snapshot_passes_a_commit_only_once_its_end_record_is_applied()
    {
        var certifier = new LogOrderCertifier();
        var writer = Commit(snapshot: -1, reads: [], writes: [X]);
        Assert.True(certifier.CertifyCommit(new LogPosition(0), writer).Commit);
        certifier.Applied(new LogPosition(0));
        certifier.Applied(new LogPosition(1)); // some other record

        var beforeEnd = certifier.TakeSnapshot();
        certifier.Ended(writer.TransactionId);
        certifier.Applied(new LogPosition(2)); // the end record
        var afterEnd = certifier.TakeSnapshot();

        Assert.Equal(new LogPosition(-1), beforeEnd);
        Assert.Equal(new LogPosition(2), afterEnd);
        // Written after the older snapshot: a write of X from it is a write-write conflict; from the newer one it is not.
        Assert.False(certifier.CertifyCommit(new LogPosition(3), Commit(beforeEnd.Value, [], [X])).Commit);
        Assert.True(certifier.CertifyCommit(new LogPosition(4), Commit(afterEnd.Value, [], [X])).Commit);
    }

    [Fact]
    public void A_refused_commit_does_not_hold_the_snapshot_back()
    {
        var certifier = new LogOrderCertifier();
        var first = Commit(-1, [], [X]);
        certifier.CertifyCommit(new LogPosition(0), first);
        var refused = certifier.CertifyCommit(new LogPosition(1), Commit(-1, [], [X]));
        certifier.Ended(first.TransactionId);
        certifier.Applied(new LogPosition(2));

        Assert.False(refused.Commit);
        Assert.Equal(new LogPosition(2), certifier.TakeSnapshot());
    }

    [Fact]
    public void A_commit_record_without_certification_is_never_refused_but_others_meet_its_writes()
    {
        var certifier = new LogOrderCertifier();
        var uncertified = Commit(-1, [], [X]) with { Certification = null };
        var sameSnapshot = Commit(-1, [], [X]);

        Assert.True(certifier.CertifyCommit(new LogPosition(0), uncertified).Commit);
        Assert.True(certifier.CertifyCommit(new LogPosition(1), Commit(-1, [], [X]) with { Certification = null }).Commit);
        var verdict = certifier.CertifyCommit(new LogPosition(2), sameSnapshot);
        Assert.False(verdict.Commit);
        Assert.Equal(uncertified.TransactionId, verdict.ConflictsWith);
    }

    [Fact]
    public void A_snapshot_claimed_past_the_record_itself_counts_as_the_position_before_it()
    {
        var certifier = new LogOrderCertifier();
        certifier.CertifyCommit(new LogPosition(0), Commit(-1, [], [X]));

        // Claims to have seen position 5, but sits at 1: it cannot have seen what came after it.
        Assert.True(certifier.CertifyCommit(new LogPosition(1), Commit(5, [X], [Y])).Commit);
        Assert.False(certifier.CertifyCommit(new LogPosition(2), Commit(0, [], [Y])).Commit);
    }

    [Fact]
    public void A_read_only_check_refuses_the_reader_of_a_committed_pivot_and_remembers_nothing()
    {
        // Fekete et al.: T3 writes X and commits; the pivot T2 read X before it and wrote Y; the
        // read-only transaction saw T3 (its snapshot is after it) but not T2.
        var certifier = new LogOrderCertifier();
        var t3 = Commit(-1, [], [X]);
        certifier.CertifyCommit(new LogPosition(0), t3);
        certifier.Ended(t3.TransactionId);
        certifier.Applied(new LogPosition(0));
        var readerSnapshot = certifier.TakeSnapshot();
        Assert.True(certifier.CertifyCommit(new LogPosition(1), Commit(-1, [X], [Y])).Commit);
        certifier.Applied(new LogPosition(1));
        var remembered = certifier.RememberedTransactions;

        var reader = new LogCertification(readerSnapshot, Serializable: true, SeveralSnapshots: false, [X, Y]);
        var verdict = certifier.CheckReadOnly(TransactionId.New(), reader);

        Assert.False(verdict.Commit);
        Assert.Contains("pivot", verdict.Reason, StringComparison.Ordinal);
        Assert.Equal(remembered, certifier.RememberedTransactions);
        Assert.True(certifier.CheckReadOnly(TransactionId.New(), reader with { Serializable = false }).Commit);
    }

    [Fact]
    public void A_read_only_check_refuses_a_read_that_may_have_seen_half_of_a_transaction()
    {
        var certifier = new LogOrderCertifier();
        var snapshot = certifier.TakeSnapshot();
        certifier.CertifyCommit(new LogPosition(0), Commit(-1, [], [X, Y]));
        certifier.Applied(new LogPosition(0));

        var oneBackend = new LogCertification(snapshot, Serializable: true, SeveralSnapshots: false, [X.TableOf, Y.TableOf]);
        var severalBackends = oneBackend with { SeveralSnapshots = true };

        Assert.True(certifier.CheckReadOnly(TransactionId.New(), oneBackend).Commit);
        Assert.Contains("fractured", certifier.CheckReadOnly(TransactionId.New(), severalBackends).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_commit_without_its_end_record_past_the_limit_holds_up_no_snapshot_and_only_its_rows_are_refused()
    {
        var clock = new ManualClock();
        var certifier = new LogOrderCertifier(clock) { OverdueAfter = TimeSpan.FromSeconds(1) };
        var stuck = Commit(-1, [], [X]);
        Assert.True(certifier.CertifyCommit(new LogPosition(0), stuck).Commit);
        certifier.Applied(new LogPosition(0));
        Assert.Equal(new LogPosition(-1), certifier.TakeSnapshot()); // still finishing: waited for

        clock.Advance(TimeSpan.FromSeconds(2));

        // A thousand later commits of one hot row, each from a fresh snapshot: none is concurrent with the last.
        for (var position = 1; position <= 1_000; position++)
        {
            var hot = Commit(certifier.TakeSnapshot().Value, [Y], [Y]);
            Assert.True(certifier.CertifyCommit(new LogPosition(position), hot).Commit, $"commit {position}");
            certifier.Applied(new LogPosition(position));
            certifier.Ended(hot.TransactionId);
        }

        var snapshot = certifier.TakeSnapshot();
        Assert.Equal(new LogPosition(1_000), snapshot);
        var refused = certifier.TouchesOverdue(new LogCertification(snapshot, Serializable: true, SeveralSnapshots: false, [X]), []);
        Assert.NotNull(refused);
        Assert.Equal(stuck.TransactionId, refused.ConflictsWith);
        Assert.Null(certifier.TouchesOverdue(new LogCertification(snapshot, Serializable: true, SeveralSnapshots: false, [Y]), [Y]));

        // Its end record came: nothing is refused any more.
        certifier.Ended(stuck.TransactionId);
        Assert.Null(certifier.TouchesOverdue(new LogCertification(snapshot, Serializable: true, SeveralSnapshots: false, [X]), [X]));
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;
    }

    private static List<CertificationResult> Apply(LogOrderCertifier certifier, IEnumerable<LogRecord> records)
    {
        var verdicts = new List<CertificationResult>();
        var position = 0L;
        foreach (var record in records)
        {
            verdicts.Add(certifier.CertifyCommit(new LogPosition(position), record));
            certifier.Applied(new LogPosition(position++));
        }

        return verdicts;
    }

    /// <summary>A commit record whose votes write <paramref name="writes"/> (backend = participant).</summary>
    [Fact]
    public void A_last_writer_wins_write_meets_no_write_write_conflict_but_its_reads_still_count()
    {
        var certifier = new LogOrderCertifier();
        Assert.True(certifier.CertifyCommit(new LogPosition(0), Commit(-1, [], [X])).Commit);

        Assert.False(certifier.CertifyCommit(new LogPosition(1), Commit(-1, [], [X])).Commit);
        Assert.True(certifier.CertifyCommit(new LogPosition(2), LastWriterWins(Commit(-1, [], [X]))).Commit);

        // Y's reader of X is a pivot between X's writers: its rw edges are not exempt.
        Assert.True(certifier.CertifyCommit(new LogPosition(3), Commit(-1, [Y], [new ItemId("b", "t", "w")])).Commit);
        var pivot = certifier.CertifyCommit(new LogPosition(4), LastWriterWins(Commit(-1, [X], [Y])));
        Assert.False(pivot.Commit);
        Assert.Contains("dangerous structure", pivot.Reason, StringComparison.Ordinal);
    }

    private static LogRecord LastWriterWins(LogRecord commit)
        => commit with { Participants = [.. commit.Participants.Select(vote => vote with { Writes = [.. vote.Writes.Select(w => w with { LastWriterWins = true })] })] };

    private static LogRecord Commit(long snapshot, ItemId[] reads, ItemId[] writes) => new()
    {
        Kind = LogRecordKind.Commit,
        TransactionId = TransactionId.New(),
        NodeId = "test",
        Timestamp = DateTimeOffset.UnixEpoch,
        Participants = writes.GroupBy(w => w.Backend)
            .Select(g => new ParticipantVote(g.Key, false, g.Select(w => new RowWrite(w.Table, w.Key!, WriteKind.Update, 1, 2)).ToList()))
            .ToList(),
        Certification = new LogCertification(new LogPosition(snapshot), Serializable: true, SeveralSnapshots: false, reads),
    };
}
