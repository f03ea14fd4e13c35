using Khonsu.Engine.Codec;

namespace Khonsu.Log.Kafka;

/// <summary>
/// What one process of a Kafka log publishes about itself on the positions topic (see
/// <see cref="KafkaPositionPublisher"/>): how far its tail has applied the log, the newest
/// checkpoint it wrote or opened from, and when it said so. Keyed by the process's node id.
/// </summary>
/// <param name="Process">The node id (NodeId; by default machine:pid).</param>
/// <param name="Applied">The last offset its index applied; null before the first record.</param>
/// <param name="Checkpoint">The offset of the newest checkpoint it wrote or opened from; null if none.</param>
/// <param name="PublishedAt">When the process published this (its own clock).</param>
internal sealed record KafkaProcessPosition(string Process, long? Applied, long? Checkpoint, DateTimeOffset PublishedAt)
{
    private const byte FormatVersion = 1;

    public byte[] Encode()
    {
        var writer = new CodecWriter(32);
        writer.WriteByte(FormatVersion);
        writer.WriteVarInt(Applied ?? -1);
        writer.WriteVarInt(Checkpoint ?? -1);
        writer.WriteVarInt(PublishedAt.ToUnixTimeMilliseconds());
        return writer.Written.ToArray();
    }

    /// <summary>Null for a value this build does not read (another format version, or damaged).</summary>
    public static KafkaProcessPosition? TryDecode(string process, byte[] value)
    {
        try
        {
            var reader = new CodecReader(value);
            if (reader.ReadByte() != FormatVersion)
            {
                return null;
            }

            var applied = reader.ReadVarInt();
            var checkpoint = reader.ReadVarInt();
            var publishedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.ReadVarInt());
            return new KafkaProcessPosition(process, applied < 0 ? null : applied, checkpoint < 0 ? null : checkpoint, publishedAt);
        }
        catch (Exception error) when (error is InvalidDataException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
