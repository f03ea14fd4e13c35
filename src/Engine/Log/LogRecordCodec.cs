using System.Buffers.Binary;
using System.Text;
using Khonsu.Engine.Commit;

namespace Khonsu.Engine.Log;

/// <summary>
/// The binary form of a log record, shared by every log: a format-version byte, the fields, and a
/// trailing CRC-32C of everything before it. Strings are UTF-8 with varint lengths.
/// </summary>
public static class LogRecordCodec
{
    public const byte FormatVersion = 1;

    private enum ValueTag : byte
    {
        Null = 0,
        Integer = 1,
        Real = 2,
        Text = 3,
        Blob = 4,
    }

    public static byte[] Encode(LogRecord record)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FormatVersion);
            writer.Write((byte)record.Kind);
            writer.Write(record.TransactionId.Value.ToByteArray());
            writer.Write(record.NodeId);
            writer.Write(record.Timestamp.UtcTicks);
            WriteOptional(writer, record.StartedAt?.UtcTicks);
            WriteOptional(writer, record.Operation);
            WriteOptional(writer, record.Reason);
            writer.Write7BitEncodedInt(record.Participants.Count);
            foreach (var vote in record.Participants)
            {
                WriteVote(writer, vote);
            }
        }

        var crc = Crc32C.Compute(stream.GetBuffer().AsSpan(0, (int)stream.Length));
        Span<byte> trailer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc);
        stream.Write(trailer);
        return stream.ToArray();
    }

    public static LogRecord Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 5)
        {
            throw new InvalidDataException($"Log record is truncated: {bytes.Length} bytes.");
        }

        var body = bytes[..^4];
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(bytes[^4..]);
        if (Crc32C.Compute(body) != expected)
        {
            throw new InvalidDataException("Log record checksum mismatch: the record is corrupt or truncated.");
        }

        if (body[0] != FormatVersion)
        {
            throw new InvalidDataException($"Log record format version {body[0]} is not supported (this build reads version {FormatVersion}).");
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(body[1..].ToArray()), Encoding.UTF8);
            var kind = (LogRecordKind)reader.ReadByte();
            var id = new TransactionId(new Guid(reader.ReadBytes(16)));
            var node = reader.ReadString();
            var timestamp = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var startedAt = ReadOptionalLong(reader) is { } ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : (DateTimeOffset?)null;
            var operation = ReadOptionalString(reader);
            var reason = ReadOptionalString(reader);
            var votes = new ParticipantVote[reader.Read7BitEncodedInt()];
            for (var i = 0; i < votes.Length; i++)
            {
                votes[i] = ReadVote(reader);
            }

            return new LogRecord
            {
                Kind = kind,
                TransactionId = id,
                NodeId = node,
                Timestamp = timestamp,
                StartedAt = startedAt,
                Operation = operation,
                Reason = reason,
                Participants = votes,
            };
        }
        catch (EndOfStreamException error)
        {
            throw new InvalidDataException("Log record is truncated.", error);
        }
    }

    private static void WriteVote(BinaryWriter writer, ParticipantVote vote)
    {
        writer.Write(vote.Participant);
        writer.Write(vote.NeedsRedo);
        writer.Write7BitEncodedInt(vote.Writes.Count);
        foreach (var write in vote.Writes)
        {
            writer.Write(write.Table);
            writer.Write(write.Key);
            writer.Write((byte)write.Kind);
            WriteOptional(writer, write.OldVersion);
            WriteOptional(writer, write.NewVersion);
            writer.Write(write.Image is not null);
            if (write.Image is { } image)
            {
                writer.Write7BitEncodedInt(image.Columns.Count);
                for (var i = 0; i < image.Columns.Count; i++)
                {
                    writer.Write(image.Columns[i]);
                    WriteValue(writer, image.Columns[i], image.Values[i]);
                }
            }
        }
    }

    private static ParticipantVote ReadVote(BinaryReader reader)
    {
        var participant = reader.ReadString();
        var needsRedo = reader.ReadBoolean();
        var writes = new RowWrite[reader.Read7BitEncodedInt()];
        for (var i = 0; i < writes.Length; i++)
        {
            var table = reader.ReadString();
            var key = reader.ReadString();
            var kind = (WriteKind)reader.ReadByte();
            var oldVersion = ReadOptionalLong(reader);
            var newVersion = ReadOptionalLong(reader);
            RowImage? image = null;
            if (reader.ReadBoolean())
            {
                var count = reader.Read7BitEncodedInt();
                var columns = new string[count];
                var values = new object?[count];
                for (var c = 0; c < count; c++)
                {
                    columns[c] = reader.ReadString();
                    values[c] = ReadValue(reader);
                }

                image = new RowImage(columns, values);
            }

            writes[i] = new RowWrite(table, key, kind, oldVersion, newVersion, image);
        }

        return new ParticipantVote(participant, needsRedo, writes);
    }

    private static void WriteValue(BinaryWriter writer, string column, object? value)
    {
        switch (value)
        {
            case null or DBNull:
                writer.Write((byte)ValueTag.Null);
                break;
            case long or int or short or byte or sbyte or ushort or uint or bool:
                writer.Write((byte)ValueTag.Integer);
                writer.Write(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case double or float:
                writer.Write((byte)ValueTag.Real);
                writer.Write(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case string text:
                writer.Write((byte)ValueTag.Text);
                writer.Write(text);
                break;
            case byte[] blob:
                writer.Write((byte)ValueTag.Blob);
                writer.Write7BitEncodedInt(blob.Length);
                writer.Write(blob);
                break;
            default:
                throw new ArgumentException($"Column '{column}' holds a {value.GetType().Name}, which the log cannot carry (null, integers, reals, text and blobs only).", nameof(value));
        }
    }

    private static object? ReadValue(BinaryReader reader) => (ValueTag)reader.ReadByte() switch
    {
        ValueTag.Null => null,
        ValueTag.Integer => reader.ReadInt64(),
        ValueTag.Real => reader.ReadDouble(),
        ValueTag.Text => reader.ReadString(),
        ValueTag.Blob => reader.ReadBytes(reader.Read7BitEncodedInt()),
        var tag => throw new InvalidDataException($"Unknown value tag {(byte)tag} in a row image."),
    };

    private static void WriteOptional(BinaryWriter writer, long? value)
    {
        writer.Write(value.HasValue);
        if (value.HasValue)
        {
            writer.Write(value.Value);
        }
    }

    private static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
        {
            writer.Write(value);
        }
    }

    private static long? ReadOptionalLong(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadInt64() : null;

    private static string? ReadOptionalString(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;
}
