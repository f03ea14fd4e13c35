using System.Buffers.Binary;
using System.Text;

namespace Khonsu.Engine.Codec;

/// <summary>
/// The primitives of the log record format, written into a growing buffer: little-endian fixed
/// integers, LEB128 varints (zigzag for signed values) and UTF-8 strings with a varint length.
/// </summary>
internal sealed class CodecWriter
{
    // Strict: a string with a lone surrogate must fail at encode, not come back altered at decode.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private byte[] _buffer;
    private int _length;

    public CodecWriter(int initialCapacity = 256) => _buffer = new byte[initialCapacity];

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);

    public void WriteDouble(double value) => BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), value);

    public void WriteVarUInt(ulong value)
    {
        while (value >= 0x80)
        {
            WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        WriteByte((byte)value);
    }

    /// <summary>Zigzag keeps small negative numbers as short as small positive ones.</summary>
    public void WriteVarInt(long value) => WriteVarUInt((ulong)((value << 1) ^ (value >> 63)));

    public void WriteCount(int count) => WriteVarUInt((uint)count);

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        WriteCount(bytes.Length);
        bytes.CopyTo(Reserve(bytes.Length));
    }

    public void WriteString(string value)
    {
        var length = Utf8.GetByteCount(value);
        WriteCount(length);
        Utf8.GetBytes(value, Reserve(length));
    }

    public void WriteGuid(Guid value)
    {
        // RFC 9562 byte order, so a consumer in another language reads the same UUID.
        value.TryWriteBytes(Reserve(16), bigEndian: true, out _);
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
