using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Log;

public class LogRecordCodecTests
{
    [Fact]
    public void Every_field_and_value_type_round_trips()
    {
        var record = Sample();

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));

        Assert.Equal(record.Kind, decoded.Kind);
        Assert.Equal(record.TransactionId, decoded.TransactionId);
        Assert.Equal(record.NodeId, decoded.NodeId);
        Assert.Equal(record.Timestamp, decoded.Timestamp);
        Assert.Equal(record.StartedAt, decoded.StartedAt);
        Assert.Equal(record.Operation, decoded.Operation);
        Assert.Equal(record.Reason, decoded.Reason);
        var vote = Assert.Single(decoded.Participants);
        Assert.Equal(("ledger", true), (vote.Participant, vote.NeedsRedo));
        var write = Assert.Single(vote.Writes);
        Assert.Equal(("accounts", "7", WriteKind.Update, 3L, 4L), (write.Table, write.Key, write.Kind, write.OldVersion, write.NewVersion));
        Assert.Equal(["id", "name", "ratio", "photo", "note"], write.Image!.Columns);
        Assert.Equal(7L, write.Image.Values[0]);
        Assert.Equal("zoë", write.Image.Values[1]);
        Assert.Equal(0.5, write.Image.Values[2]);
        Assert.Equal(new byte[] { 1, 2, 3 }, write.Image.Values[3]);
        Assert.Null(write.Image.Values[4]);
    }

    [Fact]
    public void A_flipped_bit_is_detected()
    {
        var bytes = LogRecordCodec.Encode(Sample());
        bytes[bytes.Length / 2] ^= 0x10;

        var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_record_is_detected()
    {
        var bytes = LogRecordCodec.Encode(Sample());

        Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes.AsSpan(0, bytes.Length - 9)));
        Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes.AsSpan(0, 3)));
    }

    [Fact]
    public void An_unknown_format_version_is_refused_by_name()
    {
        var bytes = LogRecordCodec.Encode(Sample());
        bytes[0] = 9;
        var crc = Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4));
        BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 4), crc);

        var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("version 9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_the_log_cannot_carry_are_refused_naming_the_column()
    {
        var record = Sample() with
        {
            Participants = [new ParticipantVote("p", true, [new RowWrite("t", "1", WriteKind.Insert, null, 1, new RowImage(["when"], [DateTime.UtcNow]))])],
        };

        var error = Assert.Throws<ArgumentException>(() => LogRecordCodec.Encode(record));
        Assert.Contains("'when'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Crc32C_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    internal static LogRecord Sample() => new()
    {
        Kind = LogRecordKind.Commit,
        TransactionId = TransactionId.New(),
        NodeId = "host:42",
        Timestamp = new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero),
        StartedAt = new DateTimeOffset(2026, 11, 21, 9, 59, 59, TimeSpan.Zero),
        Operation = "ledger: UPDATE accounts SET name = @name",
        Reason = "none",
        Participants =
        [
            new ParticipantVote("ledger", true,
            [
                new RowWrite("accounts", "7", WriteKind.Update, 3, 4, new RowImage(["id", "name", "ratio", "photo", "note"], [7L, "zoë", 0.5, new byte[] { 1, 2, 3 }, null])),
            ]),
        ],
    };
}
