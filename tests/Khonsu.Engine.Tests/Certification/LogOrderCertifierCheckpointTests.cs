using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Engine.SharedLog;
using Khonsu.Engine.Codec;

namespace Khonsu.Engine.Tests.Certification;

/// <summary>
/// A certifier restored from a checkpoint must be indistinguishable from one that read the log
/// from its start: same bytes, same verdicts (reasons included), same snapshots.
/// </summary>
public sealed class LogOrderCertifierCheckpointTests
{
    [Theory]
    [InlineData(1, 600)]
    [InlineData(2, 600)]
    [InlineData(3, 1500)]
    public void A_certifier_restored_at_any_offset_reaches_the_verdicts_of_one_that_read_from_the_start(int seed, int records)
    {
        var log = RandomLog(new Random(seed), records);
        var whole = Apply(new LogOrderCertifier(), log, 0, log.Count);

        foreach (var at in new[] { 0, log.Count / 3, log.Count - 2 })
        {
            var prefix = new LogOrderCertifier();
            Apply(prefix, log, 0, at + 1);
            var restored = RoundTrip(prefix, at);
            Assert.Equal(whole[(at + 1)..], Apply(restored, log, at + 1, log.Count));
        }
    }

    [Fact]
    public void A_certifier_restored_after_folding_past_its_capacity_agrees_with_one_that_read_from_the_start()
    {
        // Enough commits to fold the oldest half into the summary, with rows collapsed per table or not.
        var log = RandomLog(new Random(42), 16_500, keys: 400_000);
        var full = new LogOrderCertifier();
        var whole = Apply(full, log, 0, log.Count);
        Assert.True(full.RememberedTransactions < whole.Count(v => v.Commit == true), "the certifier never folded: the test does not exercise the summary");

        // One checkpoint before the fold (it happens after restoring), one after (the summary is in it).
        var prefix = new LogOrderCertifier();
        var applied = 0;
        foreach (var at in new[] { 13_000, 15_500 })
        {
            Apply(prefix, log, applied, at + 1);
            applied = at + 1;
            var restored = RoundTrip(prefix, at);
            Assert.Equal(whole[(at + 1)..], Apply(restored, log, at + 1, log.Count));
            Assert.Equal(Encode(full, log.Count - 1), Encode(restored, log.Count - 1));
        }
    }

    [Fact]
    public void A_state_round_trips_byte_for_byte()
    {
        var log = RandomLog(new Random(7), 800);
        var certifier = new LogOrderCertifier();
        Apply(certifier, log, 0, log.Count);
        var bytes = Encode(certifier, log.Count - 1);

        var (offset, restored) = Decode(bytes);

        Assert.Equal(log.Count - 1, offset);
        Assert.Equal(bytes, Encode(restored, offset));
        Assert.Equal(certifier.TakeSnapshot(), restored.TakeSnapshot());
        Assert.Equal(certifier.RememberedItems, restored.RememberedItems);
    }

    [Fact]
    public void A_corrupt_checkpoint_is_refused_by_its_checksum_and_an_unknown_version_by_its_version_byte()
    {
        var certifier = new LogOrderCertifier();
        Apply(certifier, RandomLog(new Random(9), 50), 0, 50);
        var bytes = Encode(certifier, 49);

        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x10;
        var corrupt = Assert.Throws<InvalidDataException>(() => Decode(flipped));
        Assert.Contains("Log checkpoint checksum mismatch", corrupt.Message, StringComparison.Ordinal);

        var newer = (byte[])bytes.Clone();
        newer[0] = LogCheckpointCodec.FormatVersion + 1;
        var version = Assert.Throws<InvalidDataException>(() => Decode(newer));
        Assert.Contains($"Log checkpoint format version {LogCheckpointCodec.FormatVersion + 1} is not supported", version.Message, StringComparison.Ordinal);

        var truncated = Assert.Throws<InvalidDataException>(() => Decode(bytes.AsSpan(0, bytes.Length - 3).ToArray()));
        Assert.Contains("Log checkpoint is truncated", truncated.Message, StringComparison.Ordinal);
    }

    // SHA-256 of the checkpoint of RandomLog(new Random(2026), 12_000, keys: 2_000) after its last
    // record, as the certifier wrote it before it was indexed (it scanned every concurrent
    // transaction then, and serialised its own state).
    private const string DigestBeforeIndexing = "6BF2F7200481A6C197EA3FDF0F83AF87E1C990D34853B05D7F1A3C993AD4AAC7";

    [Fact]
    public void The_checkpoint_of_a_fixed_log_has_the_bytes_the_format_had_before_the_certifier_was_indexed()
    {
        // Enough records to fold past the capacity, so the summary is in the bytes too.
        var log = RandomLog(new Random(2026), 12_000, keys: 2_000);
        var certifier = new LogOrderCertifier();
        Apply(certifier, log, 0, log.Count);
        Assert.True(certifier.RememberedTransactions < LogOrderCertifier.Capacity, "the log never folded into the summary: the test does not exercise it");

        var bytes = Encode(certifier, log.Count - 1);

        Assert.Equal(DigestBeforeIndexing, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)));
        var (_, restored) = Decode(bytes);
        Assert.Equal(certifier.RememberedItems, restored.RememberedItems);
    }

    [Fact]
    public void A_certifier_state_of_another_capacity_is_refused_by_name()
    {
        var writer = new CodecWriter(64);
        writer.WriteVarInt(-1); // last record applied
        writer.WriteCount(0); // unfinished commits
        writer.WriteCount(LogOrderCertifier.Capacity + 1); // the certifier's capacity
        var bytes = writer.Written.ToArray();

        var refused = Assert.Throws<InvalidDataException>(() =>
        {
            var reader = new CodecReader(bytes);
            LogOrderCertifier.ReadState(ref reader, new NameTable());
        });
        Assert.Contains($"capacity {LogOrderCertifier.Capacity + 1}, this one holds {LogOrderCertifier.Capacity}", refused.Message, StringComparison.Ordinal);
    }

    private static LogOrderCertifier RoundTrip(LogOrderCertifier certifier, long offset)
    {
        var bytes = Encode(certifier, offset);
        var (decodedOffset, restored) = Decode(bytes);
        Assert.Equal(offset, decodedOffset);
        Assert.Equal(bytes, Encode(restored, offset));
        return restored;
    }

    private static byte[] Encode(LogOrderCertifier certifier, long offset) => LogCheckpointCodec.Encode(offset, certifier.WriteState);

    private static (long Offset, LogOrderCertifier Certifier) Decode(byte[] bytes)
        => LogCheckpointCodec.Decode(bytes, (ref CodecReader reader, NameTable names) => LogOrderCertifier.ReadState(ref reader, names));

    /// <summary>What a process observes at each record: the verdict on a commit record (null for an end record) and the snapshot it would hand out after it.</summary>
    private static (bool? Commit, string? Reason, ItemId? Item, TransactionId? ConflictsWith, LogPosition Snapshot)[] Apply(LogOrderCertifier certifier, List<LogRecord> log, int from, int until)
    {
        var seen = new List<(bool?, string?, ItemId?, TransactionId?, LogPosition)>();
        for (var i = from; i < until; i++)
        {
            var position = new LogPosition(i);
            var record = log[i];
            CertificationResult? verdict = null;
            if (record.Kind == LogRecordKind.Commit)
            {
                verdict = certifier.CertifyCommit(position, record);
            }
            else
            {
                certifier.Ended(record.TransactionId);
            }

            certifier.Applied(position);
            var readOnly = certifier.CheckReadOnly(TransactionId.New(), new LogCertification(new LogPosition(Math.Max(-1, i - 40)), Serializable: true, SeveralSnapshots: false, [new ItemId("a", "t0", null)]));
            seen.Add((verdict?.Commit, verdict?.Reason ?? (readOnly.Commit ? null : "read-only: " + readOnly.Reason), verdict?.Item, verdict?.ConflictsWith, certifier.TakeSnapshot()));
        }

        return [.. seen];
    }

    /// <summary>Commit records with snapshots a little behind, overlapping reads and writes (rows and whole tables) on two backends, and end records for most.</summary>
    private static List<LogRecord> RandomLog(Random random, int count, int keys = 300)
    {
        var log = new List<LogRecord>(count);
        var open = new List<TransactionId>();
        for (var i = 0; i < count; i++)
        {
            if (open.Count > 0 && random.Next(10) < 3)
            {
                var index = random.Next(Math.Min(open.Count, 8));
                log.Add(Record(LogRecordKind.End, open[index], [], null));
                open.RemoveAt(index);
                continue;
            }

            var reads = Enumerable.Range(0, random.Next(5)).Select(_ => RandomItem(random, keys, tableRead: random.Next(12) == 0)).Distinct().ToArray();
            var writes = Enumerable.Range(0, 1 + random.Next(3)).Select(_ => RandomItem(random, keys, tableRead: false)).Distinct().ToArray();
            var snapshot = Math.Max(-1, i - 1 - random.Next(30));
            var certification = new LogCertification(new LogPosition(snapshot), Serializable: random.Next(4) != 0, SeveralSnapshots: random.Next(3) == 0, reads);
            // Ids from the seeded generator too, so that a log (and its checkpoint's bytes) is reproducible.
            var id = new byte[16];
            random.NextBytes(id);
            var commit = Record(LogRecordKind.Commit, new TransactionId(new Guid(id)), writes, certification);
            log.Add(commit);
            open.Add(commit.TransactionId);
        }

        return log;
    }

    private static ItemId RandomItem(Random random, int keys, bool tableRead)
    {
        var backend = random.Next(2) == 0 ? "a" : "b";
        var table = "t" + random.Next(3);
        return new ItemId(backend, table, tableRead ? null : random.Next(keys).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static LogRecord Record(LogRecordKind kind, TransactionId id, ItemId[] writes, LogCertification? certification) => new()
    {
        Kind = kind,
        TransactionId = id,
        NodeId = "test",
        Timestamp = DateTimeOffset.UnixEpoch,
        Participants = writes.GroupBy(w => w.Backend)
            // t2 stands for a table with the Replace policy: its writes are exempt from write-write conflicts.
            .Select(g => new ParticipantVote(g.Key, false, g.Select(w => new RowWrite(w.Table, w.Key!, WriteKind.Update, 1, 2) { LastWriterWins = w.Table == "t2" }).ToList()))
            .ToList(),
        Certification = certification,
    };
}
