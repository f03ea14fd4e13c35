using Khonsu.Engine.Codec;

namespace Khonsu.Engine.Log;

/// <summary>Reads a checkpoint's state (see <see cref="LogCheckpointCodec.Decode{T}(ReadOnlySpan{byte}, CheckpointStateReader{T})"/>).</summary>
internal delegate T CheckpointStateReader<out T>(ref CodecReader reader, NameTable names);

/// <summary>Reads a checkpoint's state written in format <c>version</c> (an older one than this build writes, after an upgrade).</summary>
internal delegate T VersionedCheckpointStateReader<out T>(ref CodecReader reader, NameTable names, byte version);

/// <summary>
/// The binary form of a shared log's checkpoint: the exact state of what a process rebuilds from
/// the log (its index and its certifier) after applying every
/// record up to an offset, so that a process can load it and read on from the next offset instead
/// of from the log's start. Storage is the log implementation's business.
/// </summary>
/// <remarks>
/// Format version 2, in the <see cref="ChecksummedFrame"/> envelope (version byte, length, CRC32C):
/// <code>
/// payload = offset:varint (the last record applied)  state (written by the log's index)
/// </code>
/// Version 1 had the same envelope; what changed is the index's state (version 2 adds the log's
/// clock and what the index will forget, see Khonsu.Log.Kafka's KafkaLogIndex). Both are read.
/// Names of backends and tables in the state go through one <see cref="NameTable"/>.
/// </remarks>
internal static class LogCheckpointCodec
{
    public const byte FormatVersion = 2;

    /// <summary>The oldest version this build still reads.</summary>
    public const byte FirstReadableVersion = 1;

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
        => Decode(bytes, (ref CodecReader reader, NameTable names, byte _) => readState(ref reader, names));

    /// <inheritdoc cref="Decode{T}(ReadOnlySpan{byte}, CheckpointStateReader{T})"/>
    public static (long Offset, T State) Decode<T>(ReadOnlySpan<byte> bytes, VersionedCheckpointStateReader<T> readState)
    {
        var reader = new CodecReader(ChecksummedFrame.Decode(bytes, FirstReadableVersion, FormatVersion, "Log checkpoint", "checkpoint", out var version));
        var offset = reader.ReadVarInt();
        var state = readState(ref reader, new NameTable(), version);
        if (reader.Remaining != 0)
        {
            throw new InvalidDataException($"Log checkpoint at offset {offset} is malformed: {reader.Remaining} bytes are left after its last field.");
        }

        return (offset, state);
    }
}
