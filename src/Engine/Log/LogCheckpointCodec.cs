using Khonsu.Engine.Log.Codec;

namespace Khonsu.Engine.Log;

/// <summary>Reads a checkpoint's state (see <see cref="LogCheckpointCodec.Decode{T}"/>).</summary>
internal delegate T CheckpointStateReader<out T>(ref CodecReader reader, NameTable names);

/// <summary>
/// The binary form of a shared log's checkpoint: the exact state of what a process rebuilds from
/// the log (its index and <see cref="Certification.LogOrderCertifier"/>) after applying every
/// record up to an offset, so that a process can load it and read on from the next offset instead
/// of from the log's start. Storage is the log implementation's business.
/// </summary>
/// <remarks>
/// Format version 1, in the <see cref="ChecksummedFrame"/> envelope (version byte, length, CRC32C):
/// <code>
/// payload = offset:varint (the last record applied)  state (written by the log's index)
/// </code>
/// Names of backends and tables in the state go through one <see cref="NameTable"/>.
/// </remarks>
internal static class LogCheckpointCodec
{
    public const byte FormatVersion = 1;

    public static byte[] Encode(long offset, Action<CodecWriter, NameTable> writeState)
    {
        var payload = new CodecWriter(64 * 1024);
        payload.WriteVarInt(offset);
        writeState(payload, new NameTable());
        return ChecksummedFrame.Encode(FormatVersion, payload.Written);
    }

    /// <summary>The offset the checkpoint was taken at, and its state.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is truncated, corrupt (checksum), of a version this build does not read, or malformed.</exception>
    public static (long Offset, T State) Decode<T>(ReadOnlySpan<byte> bytes, CheckpointStateReader<T> readState)
    {
        var reader = new CodecReader(ChecksummedFrame.Decode(bytes, FormatVersion, FormatVersion, "Log checkpoint", "checkpoint", out _));
        var offset = reader.ReadVarInt();
        var state = readState(ref reader, new NameTable());
        if (reader.Remaining != 0)
        {
            throw new InvalidDataException($"Log checkpoint at offset {offset} is malformed: {reader.Remaining} bytes are left after its last field.");
        }

        return (offset, state);
    }
}
