using System.Buffers.Binary;

namespace Khonsu.Engine.Codec;

/// <summary>
/// The envelope of every binary form Khonsu stores (log records, log checkpoints):
/// <c>version:u8 payload-length:varint payload crc32c:u32</c>, the checksum over everything before
/// it. The length lets a reader tell a truncated frame from a corrupt one; a version outside what
/// the reader knows is refused rather than guessed at.
/// </summary>
internal static class ChecksummedFrame
{
    private const int ChecksumSize = 4;

    public static byte[] Encode(byte version, ReadOnlySpan<byte> payload)
    {
        var length = new CodecWriter(8);
        length.WriteCount(payload.Length);

        var headerSize = 1 + length.Written.Length;
        var bytes = new byte[headerSize + payload.Length + ChecksumSize];
        bytes[0] = version;
        length.Written.CopyTo(bytes.AsSpan(1));
        payload.CopyTo(bytes.AsSpan(headerSize));
        var checkedPart = bytes.AsSpan(0, bytes.Length - ChecksumSize);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(checkedPart.Length), Crc32C.Compute(checkedPart));
        return bytes;
    }

    /// <summary>Checks the frame and returns its payload; <paramref name="version"/> is its version byte.</summary>
    /// <param name="what">What the frame holds, capitalised as a message starts ("Log record").</param>
    /// <param name="noun">The same in one word ("record"), for "the record is corrupt".</param>
    /// <exception cref="InvalidDataException">The frame is empty, truncated, of an unknown version, or its checksum does not match.</exception>
    public static ReadOnlySpan<byte> Decode(ReadOnlySpan<byte> bytes, byte firstVersion, byte lastVersion, string what, string noun, out byte version)
    {
        if (bytes.IsEmpty)
        {
            throw new InvalidDataException($"{what} is truncated: it is empty.");
        }

        version = bytes[0];
        if (version < firstVersion || version > lastVersion)
        {
            throw new InvalidDataException(
                $"{what} format version {version} is not supported (this build reads versions {firstVersion} to {lastVersion}): a newer Khonsu wrote it, or the {noun} is corrupt.");
        }

        var header = new CodecReader(bytes[1..]);
        var payloadLength = header.ReadVarUInt();
        var headerSize = 1 + header.Offset;
        var expected = payloadLength <= int.MaxValue ? headerSize + (long)payloadLength + ChecksumSize : long.MaxValue;
        if (bytes.Length != expected)
        {
            var problem = bytes.Length < expected ? "truncated" : "followed by unexpected bytes";
            throw new InvalidDataException($"{what} is {problem}: its header announces {expected} bytes, {bytes.Length} are present.");
        }

        var checkedPart = bytes[..^ChecksumSize];
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(bytes[^ChecksumSize..]);
        var computed = Crc32C.Compute(checkedPart);
        if (stored != computed)
        {
            throw new InvalidDataException($"{what} checksum mismatch (stored 0x{stored:X8}, computed 0x{computed:X8}): the {noun} is corrupt.");
        }

        return checkedPart[headerSize..];
    }
}
