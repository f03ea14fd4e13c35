using Khonsu.Engine.Certification;
using Khonsu.Engine.Codec;

namespace Khonsu.Engine.SharedLog;

/// <summary>
/// The binary form of a <see cref="LogOrderCertifier"/>'s exact state, part of a log checkpoint: a
/// certifier restored from it and fed the records after the checkpoint reaches exactly the verdicts
/// of one fed the whole log. Unfinished commits are written in log order, so the bytes depend on
/// the records alone.
/// </summary>
/// <remarks>
/// <code>
/// state = applied:varint  count:count (position:varint id:guid)*  certifier (see SsiCertifierCheckpoint)
/// </code>
/// What this process saw of unfinished commits (their writes, when) is local knowledge, never part
/// of a verdict, and is not written.
/// </remarks>
internal static class LogOrderCertifierCheckpoint
{
    public static void Write(CodecWriter writer, NameTable names, long applied, IReadOnlyDictionary<TransactionId, long> unfinished, SsiCertifier certifier)
    {
        writer.WriteVarInt(applied);
        writer.WriteCount(unfinished.Count);
        foreach (var (id, position) in unfinished.OrderBy(p => p.Value))
        {
            writer.WriteVarInt(position);
            writer.WriteGuid(id.Value);
        }

        SsiCertifierCheckpoint.Write(writer, names, certifier);
    }

    /// <summary>Reads what <see cref="Write"/> wrote, restoring <paramref name="certifier"/> (empty) on the way.</summary>
    /// <returns>The last position applied, and the unfinished commits in log order.</returns>
    public static (long Applied, List<(TransactionId Id, long Position)> Unfinished) Read(ref CodecReader reader, NameTable names, SsiCertifier certifier)
    {
        var applied = reader.ReadVarInt();
        var count = reader.ReadCount();
        var unfinished = new List<(TransactionId, long)>(count);
        var ids = new HashSet<TransactionId>();
        var positions = new HashSet<long>();
        for (var i = 0; i < count; i++)
        {
            var position = reader.ReadVarInt();
            var id = new TransactionId(reader.ReadGuid());
            if (!positions.Add(position) || !ids.Add(id))
            {
                throw new InvalidDataException($"Log checkpoint is malformed: unfinished commit {id} at {position} appears twice.");
            }

            unfinished.Add((id, position));
        }

        SsiCertifierCheckpoint.Read(ref reader, names, certifier);
        return (applied, unfinished);
    }
}
