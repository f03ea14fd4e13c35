using System.Buffers.Binary;
using System.Text;

namespace Khonsu.Engine.Codec;

/// <summary>
/// Reads what <see cref="CodecWriter"/> wrote. Every overrun is an <see cref="InvalidDataException"/>
/// saying where, so a damaged record never surfaces as an index or argument exception.
/// </summary>
internal ref struct CodecReader(ReadOnlySpan<byte> data)
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _data = data;

    public int Offset { get; private set; }

    public readonly int Remaining => _data.Length - Offset;

    public byte ReadByte() => Take(1)[0];

    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

    public ulong ReadVarUInt()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var next = ReadByte();
            value |= (ulong)(next & 0x7F) << shift;
            if (next < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException($"Log record is malformed: a varint at offset {Offset} is longer than 10 bytes.");
    }

    public long ReadVarInt()
    {
        var zigzag = ReadVarUInt();
        return (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
    }

    /// <summary>A count of items that follow, each at least one byte long, so it cannot exceed what is left.</summary>
    public int ReadCount()
    {
        var at = Offset;
        var count = ReadVarUInt();
        if (count > (ulong)Remaining)
        {
            throw new InvalidDataException($"Log record is malformed: the length {count} at offset {at} runs past its end.");
        }

        return (int)count;
    }

    public ReadOnlySpan<byte> ReadBytes() => Take(ReadCount());

    public string ReadString()
    {
        var at = Offset;
        var bytes = ReadBytes();
        try
        {
            return Utf8.GetString(bytes);
        }
        catch (DecoderFallbackException error)
        {
            throw new InvalidDataException($"Log record is malformed: the string at offset {at} is not valid UTF-8.", error);
        }
    }

    public Guid ReadGuid() => new(Take(16), bigEndian: true);

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > Remaining)
        {
            throw new InvalidDataException($"Log record is truncated: {count} more bytes needed at offset {Offset}, {Remaining} left.");
        }

        var span = _data.Slice(Offset, count);
        Offset += count;
        return span;
    }
}
