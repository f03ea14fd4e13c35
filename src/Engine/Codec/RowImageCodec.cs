using Khonsu.Engine.Commit;

namespace Khonsu.Engine.Codec;

/// <summary>
/// Row images in the log: each value with a type tag. Only the types every backend round-trips
/// (null, long, double, string, byte[]) are accepted, so redo writes back exactly what was captured.
/// </summary>
internal static class RowImageCodec
{
    private enum ValueTag : byte
    {
        Null = 0,
        Integer = 1,
        Real = 2,
        Text = 3,
        Blob = 4,
    }

    public static void Write(CodecWriter writer, RowImage image, string table)
    {
        if (image.Columns.Count != image.Values.Count)
        {
            throw new ArgumentException(
                $"The row image of table '{table}' has {image.Columns.Count} columns but {image.Values.Count} values.", nameof(image));
        }

        writer.WriteCount(image.Columns.Count);
        for (var i = 0; i < image.Columns.Count; i++)
        {
            writer.WriteString(image.Columns[i]);
            WriteValue(writer, image.Values[i], table, image.Columns[i]);
        }
    }

    public static RowImage Read(ref CodecReader reader)
    {
        var count = reader.ReadCount();
        var columns = new string[count];
        var values = new object?[count];
        for (var i = 0; i < count; i++)
        {
            columns[i] = reader.ReadString();
            values[i] = ReadValue(ref reader);
        }

        return new RowImage(columns, values);
    }

    private static void WriteValue(CodecWriter writer, object? value, string table, string column)
    {
        switch (value)
        {
            // DBNull is how ADO.NET spells null; it comes back as null.
            case null or DBNull:
                writer.WriteByte((byte)ValueTag.Null);
                break;
            case long integer:
                writer.WriteByte((byte)ValueTag.Integer);
                writer.WriteVarInt(integer);
                break;
            case double real:
                writer.WriteByte((byte)ValueTag.Real);
                writer.WriteDouble(real);
                break;
            case string text:
                writer.WriteByte((byte)ValueTag.Text);
                writer.WriteString(text);
                break;
            case byte[] blob:
                writer.WriteByte((byte)ValueTag.Blob);
                writer.WriteBytes(blob);
                break;
            default:
                // Widening silently (int to long, float to double) would make redo write a different type.
                throw new ArgumentException(
                    $"Column '{column}' of table '{table}' holds a {value.GetType().FullName}; the commit log carries only null, long, double, string and byte[].",
                    nameof(value));
        }
    }

    private static object? ReadValue(ref CodecReader reader)
    {
        var at = reader.Offset;
        return (ValueTag)reader.ReadByte() switch
        {
            ValueTag.Null => null,
            ValueTag.Integer => reader.ReadVarInt(),
            ValueTag.Real => reader.ReadDouble(),
            ValueTag.Text => reader.ReadString(),
            ValueTag.Blob => reader.ReadBytes().ToArray(),
            var tag => throw new InvalidDataException($"Log record is malformed: unknown value tag {(byte)tag} at offset {at}."),
        };
    }
}
