
namespace Khonsu.Engine.Codec;

/// <summary>
/// An <see cref="ItemId"/> as the log formats write it: <c>backend:name table:name flags:u8 (1 key) [key:string]</c>.
/// A name is a string in a log record; in a checkpoint, where the same few backends and tables
/// recur thousands of times, it goes through a <see cref="NameTable"/> instead.
/// </summary>
internal static class ItemIdCodec
{
    public static void Write(CodecWriter writer, ItemId item, NameTable? names = null)
    {
        WriteName(writer, item.Backend, names);
        WriteName(writer, item.Table, names);
        writer.WriteByte((byte)(item.Key is null ? 0 : 1));
        if (item.Key is { } key)
        {
            writer.WriteString(key);
        }
    }

    public static ItemId Read(ref CodecReader reader, NameTable? names = null)
    {
        var backend = ReadName(ref reader, names);
        var table = ReadName(ref reader, names);
        var at = reader.Offset;
        var flags = reader.ReadByte();
        if (flags > 1)
        {
            throw new InvalidDataException($"Log record is malformed: unknown flags 0x{flags:X2} at offset {at}.");
        }

        return new ItemId(backend, table, flags == 1 ? reader.ReadString() : null);
    }

    private static void WriteName(CodecWriter writer, string name, NameTable? names)
    {
        if (names is null)
        {
            writer.WriteString(name);
        }
        else
        {
            names.Write(writer, name);
        }
    }

    private static string ReadName(ref CodecReader reader, NameTable? names) => names is null ? reader.ReadString() : names.Read(ref reader);
}
