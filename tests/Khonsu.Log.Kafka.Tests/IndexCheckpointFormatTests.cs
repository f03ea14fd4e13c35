using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;
using Khonsu.Engine.SharedLog;
using Khonsu.Engine.Codec;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// A checkpoint written by the build before the index forgot anything (format 1: no log clock, no
/// queue of what to forget) is still read after an upgrade, and its ended transactions are
/// forgotten only once their grace or horizon has passed after the first record applied.
/// </summary>
public sealed class IndexCheckpointFormatTests
{
    private const string Topic = "khonsu-log";

    private static readonly OutcomeLimits Limits = new(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), 100);

    [Fact]
    public void A_format_1_checkpoint_is_read_and_its_ended_outcomes_are_forgotten_a_grace_or_a_horizon_after_the_next_record()
    {
        var (committed, aborted, unfinished) = (TransactionId.New(), TransactionId.New(), TransactionId.New());
        var bytes = FormatOne(
            offset: 4,
            (committed, Flags: 1 | 2, Offset: 0, LogRecordKind.Commit),
            (aborted, Flags: 1 | 2, Offset: 2, LogRecordKind.Abort),
            (unfinished, Flags: 1, Offset: 4, LogRecordKind.Commit));

        var (index, offset) = KafkaLogIndex.ReadCheckpoint(bytes, Topic, Limits);

        Assert.Equal(4, offset);
        Assert.Equal(LogRecordKind.Commit, index.FirstDecision(committed)?.Record.Kind);
        Assert.Equal(LogRecordKind.Abort, index.FirstDecision(aborted)?.Record.Kind);
        Assert.Equal([unfinished], index.Unfinished().Select(r => r.Record.TransactionId));

        // The first record after it starts their clocks: nothing is forgotten yet.
        var now = DateTimeOffset.UtcNow;
        index.Apply(5, Record(now));
        Assert.NotNull(index.FirstDecision(committed));

        index.Apply(6, Record(now + TimeSpan.FromMinutes(2))); // past the commits' minute
        Assert.Null(index.FirstDecision(committed));
        Assert.Equal(LogRecordKind.Abort, index.FirstDecision(aborted)?.Record.Kind);

        index.Apply(7, Record(now + TimeSpan.FromMinutes(13))); // past the aborts' 12 minutes
        Assert.Null(index.FirstDecision(aborted));
        Assert.Equal(LogRecordKind.Commit, index.FirstDecision(unfinished)?.Record.Kind); // never, while unfinished
        Assert.Equal(2, index.Size.Remembered); // the unfinished one, and the last filler (forgotten a minute on)
    }

    /// <summary>A note of a transaction the index never saw decided: a filler that moves the log's clock, itself forgotten after the grace.</summary>
    private static LogRecord Record(DateTimeOffset at)
        => new() { Kind = LogRecordKind.InDoubtNote, TransactionId = new TransactionId(Guid.CreateVersion7(at)), NodeId = "filler", Timestamp = at };

    /// <summary>The index state as the previous build wrote it: topic, transactions, certifier; no clock, no queues.</summary>
    private static byte[] FormatOne(long offset, params (TransactionId Id, int Flags, long Offset, LogRecordKind Kind)[] transactions)
    {
        var payload = new CodecWriter();
        var names = new NameTable();
        payload.WriteVarInt(offset);
        payload.WriteString(Topic);
        payload.WriteCount(transactions.Length);
        foreach (var (id, flags, at, kind) in transactions)
        {
            payload.WriteGuid(id.Value);
            payload.WriteByte((byte)flags);
            payload.WriteVarInt(at);
            if ((flags & 2) != 0)
            {
                payload.WriteByte((byte)kind);
            }
            else
            {
                payload.WriteBytes(LogRecordCodec.Encode(LogRecords.New(kind, id)));
            }
        }

        new LogOrderCertifier().WriteState(payload, names);
        return ChecksummedFrame.Encode(1, payload.Written);
    }
}
