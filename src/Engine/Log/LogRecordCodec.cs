using System.Runtime.CompilerServices;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Codec;

namespace Khonsu.Engine.Log;

/// <summary>
/// The binary form of a log record, shared by every log implementation (the embedded SQLite log
/// stores it as a blob; a Kafka log sends it as a message value), so it knows nothing of storage.
/// </summary>
/// <remarks>
/// Format versions 1 to 3, all integers little-endian, varints LEB128 (zigzag where signed):
/// <code>
/// version:u8  payload-length:varint  payload  crc32c:u32 (of everything before it)
/// payload = kind:u8 (4, an in-doubt note: version 2 or later)  tx-id:16 bytes (RFC 9562 order)  node:string  timestamp:i64 (UTC ticks)
///           flags:u8 (1 started-at, 2 operation, 4 reason, 8 certification: version 2 only)
///           [started-at:i64] [operation:string] [reason:string] [certification]
///           participant-count:varint  participant*
/// certification = snapshot:varint  flags:u8 (1 serializable, 2 several-snapshots)  read-count:varint  read*
/// read = backend:string  table:string  flags:u8 (1 key)  [key:string]
/// participant = name:string  flags:u8 (1 needs-redo)  write-count:varint  write*
/// write = table:string  key:string  kind:u8  flags:u8 (1 old-version, 2 new-version, 4 image, 8 last-writer-wins: version 3 only)
///         [old-version:varint] [new-version:varint] [column-count:varint (column:string value)*]
/// value = tag:u8 (0 null, 1 integer:varint, 2 real:f64, 3 text:string, 4 blob:length-prefixed bytes)
/// string = byte-length:varint UTF-8 bytes
/// </code>
/// The payload length lets a reader tell a truncated record from a corrupt one. A new layout gets
/// a new version byte; readers refuse versions they do not know rather than guess. A record without
/// a certification section (and not an in-doubt note) is still written as version 1, so that logs
/// without a shared certifier stay readable by older builds, and one without a last-writer-wins
/// write as version 2.
/// </remarks>
internal static class LogRecordCodec
{
    /// <summary>The newest format this build writes and reads.</summary>
    public const byte FormatVersion = 3;

    private const byte FirstFormatVersion = 1;

    private const byte CertificationFormatVersion = 2;

    public static byte[] Encode(LogRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var payload = new CodecWriter();
        WriteRecord(payload, record);
        return ChecksummedFrame.Encode(VersionFor(record), payload.Written);
    }

    public static LogRecord Decode(ReadOnlySpan<byte> bytes)
    {
        var payload = new CodecReader(ChecksummedFrame.Decode(bytes, FirstFormatVersion, FormatVersion, "Log record", "record", out var version));
        var record = ReadRecord(ref payload, version);
        if (payload.Remaining != 0)
        {
            throw new InvalidDataException($"Log record is malformed: {payload.Remaining} bytes are left after its last field.");
        }

        return record;
    }

    /// <summary>The oldest version that can carry the record, so older builds keep reading what they can.</summary>
    private static byte VersionFor(LogRecord record)
        => record.Participants.Any(vote => vote.Writes.Any(write => write.LastWriterWins)) ? FormatVersion
            : record.Certification is null && record.Kind != LogRecordKind.InDoubtNote ? FirstFormatVersion
            : CertificationFormatVersion;

    private static void WriteRecord(CodecWriter writer, LogRecord record)
    {
        writer.WriteByte(Defined(record.Kind));
        writer.WriteGuid(record.TransactionId.Value);
        writer.WriteString(record.NodeId);
        writer.WriteInt64(record.Timestamp.UtcTicks);
        writer.WriteByte((byte)(Flags(record.StartedAt.HasValue, record.Operation is not null, record.Reason is not null) | (record.Certification is null ? 0 : 8)));
        if (record.StartedAt is { } startedAt)
        {
            writer.WriteInt64(startedAt.UtcTicks);
        }

        if (record.Operation is { } operation)
        {
            writer.WriteString(operation);
        }

        if (record.Reason is { } reason)
        {
            writer.WriteString(reason);
        }

        if (record.Certification is { } certification)
        {
            WriteCertification(writer, certification);
        }

        writer.WriteCount(record.Participants.Count);
        foreach (var vote in record.Participants)
        {
            writer.WriteString(vote.Participant);
            writer.WriteByte(Flags(vote.NeedsRedo));
            writer.WriteCount(vote.Writes.Count);
            foreach (var write in vote.Writes)
            {
                WriteRowWrite(writer, write);
            }
        }
    }

    private static LogRecord ReadRecord(ref CodecReader reader, byte version)
    {
        var kind = ReadKind<LogRecordKind>(ref reader, "record kind");
        if (kind == LogRecordKind.InDoubtNote && version < CertificationFormatVersion)
        {
            throw new InvalidDataException($"Log record is malformed: record kind {(byte)kind} (an in-doubt note) in format version {FirstFormatVersion}.");
        }

        var transactionId = new TransactionId(reader.ReadGuid());
        var nodeId = reader.ReadString();
        var timestamp = ReadTimestamp(ref reader);
        var flags = ReadFlags(ref reader, version == FirstFormatVersion ? 3 : 4);
        DateTimeOffset? startedAt = (flags & 1) != 0 ? ReadTimestamp(ref reader) : null;
        var operation = (flags & 2) != 0 ? reader.ReadString() : null;
        var reason = (flags & 4) != 0 ? reader.ReadString() : null;
        var certification = (flags & 8) != 0 ? ReadCertification(ref reader) : null;

        var participants = new ParticipantVote[reader.ReadCount()];
        for (var i = 0; i < participants.Length; i++)
        {
            var name = reader.ReadString();
            var needsRedo = ReadFlags(ref reader, 1) != 0;
            var writes = new RowWrite[reader.ReadCount()];
            for (var w = 0; w < writes.Length; w++)
            {
                writes[w] = ReadRowWrite(ref reader, version);
            }

            participants[i] = new ParticipantVote(name, needsRedo, writes);
        }

        return new LogRecord
        {
            Kind = kind,
            TransactionId = transactionId,
            NodeId = nodeId,
            Timestamp = timestamp,
            StartedAt = startedAt,
            Operation = operation,
            Reason = reason,
            Certification = certification,
            Participants = participants,
        };
    }

    private static void WriteCertification(CodecWriter writer, LogCertification certification)
    {
        writer.WriteVarInt(certification.Snapshot.Value);
        writer.WriteByte(Flags(certification.Serializable, certification.SeveralSnapshots));
        writer.WriteCount(certification.Reads.Count);
        foreach (var read in certification.Reads)
        {
            ItemIdCodec.Write(writer, read);
        }
    }

    private static LogCertification ReadCertification(ref CodecReader reader)
    {
        var snapshot = new LogPosition(reader.ReadVarInt());
        var flags = ReadFlags(ref reader, 2);
        var reads = new ItemId[reader.ReadCount()];
        for (var i = 0; i < reads.Length; i++)
        {
            reads[i] = ItemIdCodec.Read(ref reader);
        }

        return new LogCertification(snapshot, (flags & 1) != 0, (flags & 2) != 0, reads);
    }

    private static void WriteRowWrite(CodecWriter writer, RowWrite write)
    {
        writer.WriteString(write.Table);
        writer.WriteString(write.Key);
        writer.WriteByte(Defined(write.Kind));
        writer.WriteByte((byte)(Flags(write.OldVersion.HasValue, write.NewVersion.HasValue, write.Image is not null) | (write.LastWriterWins ? 8 : 0)));
        if (write.OldVersion is { } oldVersion)
        {
            writer.WriteVarInt(oldVersion);
        }

        if (write.NewVersion is { } newVersion)
        {
            writer.WriteVarInt(newVersion);
        }

        if (write.Image is { } image)
        {
            RowImageCodec.Write(writer, image, write.Table);
        }
    }

    private static RowWrite ReadRowWrite(ref CodecReader reader, byte version)
    {
        var table = reader.ReadString();
        var key = reader.ReadString();
        var kind = ReadKind<WriteKind>(ref reader, "write kind");
        var flags = ReadFlags(ref reader, version < FormatVersion ? 3 : 4);
        long? oldVersion = (flags & 1) != 0 ? reader.ReadVarInt() : null;
        long? newVersion = (flags & 2) != 0 ? reader.ReadVarInt() : null;
        var image = (flags & 4) != 0 ? RowImageCodec.Read(ref reader) : null;
        return new RowWrite(table, key, kind, oldVersion, newVersion, image) { LastWriterWins = (flags & 8) != 0 };
    }

    // Both kinds are byte enums, so a bit cast is their wire value.
    private static byte Defined<TEnum>(TEnum value)
        where TEnum : struct, Enum
        => Enum.IsDefined(value)
            ? Unsafe.BitCast<TEnum, byte>(value)
            : throw new ArgumentException($"{typeof(TEnum).Name} {value} is not a defined value.", nameof(value));

    private static TEnum ReadKind<TEnum>(ref CodecReader reader, string what)
        where TEnum : struct, Enum
    {
        var at = reader.Offset;
        var value = reader.ReadByte();
        var kind = Unsafe.BitCast<byte, TEnum>(value);
        return Enum.IsDefined(kind) ? kind : throw new InvalidDataException($"Log record is malformed: unknown {what} {value} at offset {at}.");
    }

    private static byte Flags(bool first, bool second = false, bool third = false)
        => (byte)((first ? 1 : 0) | (second ? 2 : 0) | (third ? 4 : 0));

    private static int ReadFlags(ref CodecReader reader, int known)
    {
        var at = reader.Offset;
        var flags = reader.ReadByte();
        var mask = (1 << known) - 1;
        return (flags & ~mask) == 0 ? flags : throw new InvalidDataException($"Log record is malformed: unknown flags 0x{flags:X2} at offset {at}.");
    }

    private static DateTimeOffset ReadTimestamp(ref CodecReader reader)
    {
        var at = reader.Offset;
        var ticks = reader.ReadInt64();
        return ticks is >= 0 and <= 3155378975999999999 // DateTime.MaxValue.Ticks
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : throw new InvalidDataException($"Log record is malformed: timestamp ticks {ticks} at offset {at} are out of range.");
    }
}
