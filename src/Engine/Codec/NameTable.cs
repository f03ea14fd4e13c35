namespace Khonsu.Engine.Codec;

/// <summary>
/// Names written once: <c>index:varint</c>, followed by the name as a string the first time it
/// appears (its index is then the number of names seen before it). One instance per encoding or
/// decoding pass, so writer and reader number names the same way.
/// </summary>
internal sealed class NameTable
{
    private readonly Dictionary<string, int> _indexes = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];

    public void Write(CodecWriter writer, string name)
    {
        if (_indexes.TryGetValue(name, out var index))
        {
            writer.WriteCount(index);
            return;
        }

        writer.WriteCount(_names.Count);
        writer.WriteString(name);
        _indexes.Add(name, _names.Count);
        _names.Add(name);
    }

    public string Read(ref CodecReader reader)
    {
        var at = reader.Offset;
        var index = reader.ReadVarUInt();
        if (index < (ulong)_names.Count)
        {
            return _names[(int)index];
        }

        if (index != (ulong)_names.Count)
        {
            throw new InvalidDataException($"Log checkpoint is malformed: name index {index} at offset {at} skips past the {_names.Count} names seen so far.");
        }

        var name = reader.ReadString();
        _names.Add(name);
        return name;
    }
}
