using Khonsu.Engine.Certification;
using Khonsu.Engine.Codec;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Log;

public sealed class LogRecordCodecTests
{
    [Fact]
    public void Every_field_and_value_type_round_trips()
    {
        var record = FullRecord();

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));

        Assert.Equal(record.Kind, decoded.Kind);
        Assert.Equal(record.TransactionId, decoded.TransactionId);
        Assert.Equal(record.NodeId, decoded.NodeId);
        Assert.Equal(record.Timestamp, decoded.Timestamp);
        Assert.Equal(record.StartedAt, decoded.StartedAt);
        Assert.Equal(record.Operation, decoded.Operation);
        Assert.Equal(record.Reason, decoded.Reason);
        Assert.Equal(record.Participants.Count, decoded.Participants.Count);
        for (var p = 0; p < record.Participants.Count; p++)
        {
            var (expected, actual) = (record.Participants[p], decoded.Participants[p]);
            Assert.Equal((expected.Participant, expected.NeedsRedo), (actual.Participant, actual.NeedsRedo));
            Assert.Equal(expected.Writes.Count, actual.Writes.Count);
            for (var w = 0; w < expected.Writes.Count; w++)
            {
                AssertSameWrite(expected.Writes[w], actual.Writes[w]);
            }
        }
    }

    [Fact]
    public void A_record_with_only_its_required_fields_round_trips()
    {
        var record = new LogRecord
        {
            Kind = LogRecordKind.End,
            TransactionId = TransactionId.New(),
            NodeId = "",
            Timestamp = DateTimeOffset.MinValue,
        };

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));

        Assert.Equal((record.Kind, record.TransactionId, record.NodeId, record.Timestamp), (decoded.Kind, decoded.TransactionId, decoded.NodeId, decoded.Timestamp));
        Assert.Null(decoded.StartedAt);
        Assert.Null(decoded.Operation);
        Assert.Null(decoded.Reason);
        Assert.Empty(decoded.Participants);
    }

    [Fact]
    public void A_certification_section_round_trips_as_format_version_2()
    {
        var certification = new LogCertification(new LogPosition(41), Serializable: true, SeveralSnapshots: true,
            [new ItemId("shop", "orders", "7"), new ItemId("ledger", "accounts", null), ItemId.AnyTableOf("shop"), new ItemId("shop", "orders", "")]);
        var bytes = LogRecordCodec.Encode(FullRecord() with { Certification = certification });

        var decoded = LogRecordCodec.Decode(bytes);

        Assert.Equal(2, bytes[0]);
        Assert.NotNull(decoded.Certification);
        Assert.Equal((certification.Snapshot, certification.Serializable, certification.SeveralSnapshots), (decoded.Certification.Snapshot, decoded.Certification.Serializable, decoded.Certification.SeveralSnapshots));
        Assert.Equal(certification.Reads, decoded.Certification.Reads);
    }

    [Fact]
    public void A_record_without_certification_is_still_written_as_version_1_and_read_back_without_one()
    {
        var bytes = LogRecordCodec.Encode(FullRecord());

        Assert.Equal(1, bytes[0]);
        Assert.Null(LogRecordCodec.Decode(bytes).Certification);
    }

    [Fact]
    public void An_in_doubt_note_round_trips_as_format_version_2_and_is_refused_in_version_1()
    {
        var note = new LogRecord
        {
            Kind = LogRecordKind.InDoubtNote,
            TransactionId = TransactionId.New(),
            NodeId = "n1",
            Timestamp = DateTimeOffset.UnixEpoch,
            Reason = "backend 'archive' is not in this connection string",
            Participants = [new ParticipantVote("archive", false, [])],
        };
        var bytes = LogRecordCodec.Encode(note);

        var decoded = LogRecordCodec.Decode(bytes);

        Assert.Equal(2, bytes[0]);
        Assert.Equal((note.Kind, note.Reason, "archive"), (decoded.Kind, decoded.Reason, decoded.Participants.Single().Participant));
        bytes[0] = 1;
        BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 4), Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)));
        var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes));
        Assert.Contains("in-doubt note) in format version 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_last_writer_wins_write_round_trips_as_format_version_3_and_version_2_cannot_claim_one()
    {
        var record = new LogRecord
        {
            Kind = LogRecordKind.Commit,
            TransactionId = TransactionId.New(),
            NodeId = "n",
            Timestamp = DateTimeOffset.UnixEpoch,
            Participants = [new ParticipantVote("shop", false, [new RowWrite("orders", "[7]", WriteKind.Update, 1, 3) { LastWriterWins = true }, new RowWrite("orders", "[8]", WriteKind.Insert, null, 1)])],
        };
        var bytes = LogRecordCodec.Encode(record);

        var decoded = LogRecordCodec.Decode(bytes);

        Assert.Equal(3, bytes[0]);
        Assert.Equal([true, false], decoded.Participants[0].Writes.Select(w => w.LastWriterWins));

        bytes[0] = 2;
        BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 4), Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)));
        Assert.Contains("unknown flags", Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_version_1_record_claiming_a_certification_section_is_refused()
    {
        var bytes = LogRecordCodec.Encode(FullRecord() with { Certification = new LogCertification(LogPosition.Start, false, false, []) });
        bytes[0] = 1;
        BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 4), Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)));

        var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes));

        Assert.Contains("unknown flags", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Timestamps_keep_their_instant_whatever_their_offset()
    {
        var local = new DateTimeOffset(2026, 11, 21, 12, 30, 0, TimeSpan.FromHours(2)).AddTicks(1);
        var record = FullRecord() with { Timestamp = local, StartedAt = local };

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));

        Assert.Equal(local.UtcTicks, decoded.Timestamp.UtcTicks);
        Assert.Equal(local.UtcTicks, decoded.StartedAt!.Value.UtcTicks);
    }

    [Fact]
    public void The_format_does_not_change_by_accident()
    {
        // Records outlive the build that wrote them (and will travel through Kafka): a change to
        // these bytes needs a new format version, not a new expected value.
        var record = new LogRecord
        {
            Kind = LogRecordKind.Commit,
            TransactionId = TransactionId.Parse("01937c5e-0000-7000-8000-000000000001"),
            NodeId = "n",
            Timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Reason = "r",
            Participants = [new ParticipantVote("p", true, [new RowWrite("t", "k", WriteKind.Delete, -1, null, new RowImage(["c"], [1L]))])],
        };

        Assert.Equal(GoldenV1, Convert.ToHexString(LogRecordCodec.Encode(record)));
    }

    [Fact]
    public void Any_flipped_bit_is_detected()
    {
        var bytes = LogRecordCodec.Encode(FullRecord());

        for (var i = 0; i < bytes.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var damaged = (byte[])bytes.Clone();
                damaged[i] ^= (byte)(1 << bit);
                Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(damaged));
            }
        }
    }

    [Fact]
    public void A_damaged_payload_is_reported_as_a_checksum_mismatch()
    {
        var bytes = LogRecordCodec.Encode(FullRecord());
        bytes[bytes.Length / 2] ^= 0x10;

        var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes));

        Assert.Contains("checksum mismatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_is_detected()
    {
        var bytes = LogRecordCodec.Encode(FullRecord());

        for (var length = 0; length < bytes.Length; length++)
        {
            var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes.AsSpan(0, length)));
            Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bytes_after_the_checksum_are_refused()
    {
        var bytes = LogRecordCodec.Encode(FullRecord());

        var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode([.. bytes, 0]));

        Assert.Contains("unexpected bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_format_version_is_refused_by_number()
    {
        var bytes = LogRecordCodec.Encode(FullRecord());
        bytes[0] = 9;
        BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 4), Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)));

        var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes));

        Assert.Contains("format version 9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_record_kind_is_refused_even_with_a_valid_checksum()
    {
        var small = new LogRecord { Kind = LogRecordKind.End, TransactionId = TransactionId.New(), NodeId = "n", Timestamp = DateTimeOffset.UnixEpoch };
        var bytes = LogRecordCodec.Encode(small);
        bytes[2] = 7; // the kind: first payload byte, after the version and a one-byte length
        BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 4), Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)));

        var error = Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes));

        Assert.Contains("unknown record kind 7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_undefined_kind_is_refused_at_encode()
    {
        Assert.Throws<ArgumentException>(() => LogRecordCodec.Encode(FullRecord() with { Kind = (LogRecordKind)9 }));
    }

    public static TheoryData<object> ValuesTheLogCannotCarry => new()
    {
        42,
        1.5f,
        12.5m,
        true,
        DateTime.UnixEpoch,
        Guid.Empty,
    };

    [Theory]
    [MemberData(nameof(ValuesTheLogCannotCarry))]
    public void A_value_the_log_cannot_carry_is_refused_naming_column_and_type(object value)
    {
        var image = new RowImage(["id", "odd"], [1L, value]);
        var record = FullRecord() with { Participants = [new ParticipantVote("p", true, [new RowWrite("things", "1", WriteKind.Insert, null, 1, image)])] };

        var error = Assert.Throws<ArgumentException>(() => LogRecordCodec.Encode(record));

        Assert.Contains("'odd'", error.Message, StringComparison.Ordinal);
        Assert.Contains(value.GetType().FullName!, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DBNull_is_carried_as_null()
    {
        var record = FullRecord() with { Participants = [new ParticipantVote("p", true, [new RowWrite("t", "1", WriteKind.Insert, null, 1, new RowImage(["c"], [DBNull.Value]))])] };

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(record));

        Assert.Null(decoded.Participants[0].Writes[0].Image!.Values[0]);
    }

    [Fact]
    public void Crc32C_matches_the_standard_check_values()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32])); // RFC 3720 B.4: 32 bytes of zeros
    }

    // Worked out by hand from the layout in LogRecordCodec's remarks (and a separate CRC-32C), not copied from the encoder.
    private const string GoldenV1 = "012F0101937C5E000070008000000000000001016E0000F8B4C848DE0804017201017001010174016B03050101016301021308F0C4";

    private static void AssertSameWrite(RowWrite expected, RowWrite actual)
    {
        Assert.Equal((expected.Table, expected.Key, expected.Kind, expected.OldVersion, expected.NewVersion), (actual.Table, actual.Key, actual.Kind, actual.OldVersion, actual.NewVersion));
        if (expected.Image is null)
        {
            Assert.Null(actual.Image);
            return;
        }

        Assert.Equal(expected.Image.Columns, actual.Image!.Columns);
        Assert.Equal(expected.Image.Values.Count, actual.Image.Values.Count);
        for (var i = 0; i < expected.Image.Values.Count; i++)
        {
            var (want, got) = (expected.Image.Values[i], actual.Image.Values[i]);
            Assert.Equal(want?.GetType(), got?.GetType());
            Assert.Equal(want, got);
        }
    }

    /// <summary>A commit record using every field, every write kind and every value type, with edge values.</summary>
    internal static LogRecord FullRecord() => new()
    {
        Kind = LogRecordKind.Commit,
        TransactionId = TransactionId.New(),
        NodeId = "host-7:4242",
        Timestamp = new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero).AddTicks(1234567),
        StartedAt = new DateTimeOffset(2026, 11, 21, 9, 59, 59, TimeSpan.Zero),
        Operation = "ledger: UPDATE accounts SET name = @name; shop: INSERT INTO orders …",
        Reason = "",
        Participants =
        [
            new ParticipantVote("ledger", true,
            [
                new RowWrite("accounts", "7", WriteKind.Update, 3, 4, new RowImage(
                    ["id", "name", "ratio", "photo", "note", "big", "small", "empty", "nothing", "inf"],
                    [7L, "zoë 🚀 ünïcödé", 0.1, new byte[] { 0, 1, 2, 255 }, null, long.MaxValue, long.MinValue, "", Array.Empty<byte>(), double.NegativeInfinity])),
                new RowWrite("accounts", "8\u001f2", WriteKind.Insert, null, 1, new RowImage(["id"], [-1L])),
                new RowWrite("accounts", "9", WriteKind.Delete, long.MaxValue, null, new RowImage(["id"], [9L])),
            ]),
            new ParticipantVote("shop", false,
            [
                new RowWrite("orders", "1", WriteKind.Update, 0, long.MinValue),
            ]),
            new ParticipantVote("reports", false, []),
        ],
    };
}
