using Khonsu.Engine.Codec;

namespace Khonsu.Engine.Certification;

/// <summary>
/// The binary form of an <see cref="SsiCertifier"/>'s exact state, part of a shared log's
/// checkpoint (see <c>SharedLog.LogOrderCertifierCheckpoint</c>): its capacity, its horizon, the
/// transactions remembered in full in commit order (each read and write set in its set's order,
/// which decides which conflicting item a refusal names) and its summary. A certifier restored from
/// it certifies every later transaction exactly as the one that wrote it would. Its index is not
/// written: it is rebuilt from the transactions.
/// </summary>
/// <remarks>
/// <code>
/// state       = capacity:count  horizon:varint  count:count  transaction*  summary
/// transaction = id:guid  position:varint  snapshot:varint  flags:byte (1 earliest, 2 last-writer-wins)
///               [earliest:varint]  reads:items  writes:items  [lastWriterWins:items]
/// summary     = collapsed:byte  rows:map  tables:map      map = count:count (item position:varint)*
/// </code>
/// The format is the one the scanning certifier wrote before the index: checkpoints cross that upgrade.
/// </remarks>
internal static class SsiCertifierCheckpoint
{
    private const byte EarliestOutConflictFlag = 1;
    private const byte LastWriterWinsFlag = 2;

    public static void Write(CodecWriter writer, NameTable names, SsiCertifier certifier)
    {
        writer.WriteCount(certifier.Capacity);
        writer.WriteVarInt(certifier.Horizon.Value);
        var remembered = certifier.Remembered;
        writer.WriteCount(remembered.Length);
        foreach (var t in remembered)
        {
            writer.WriteGuid(t.Id.Value);
            writer.WriteVarInt(t.Position.Value);
            writer.WriteVarInt(t.Snapshot.Value);
            writer.WriteByte((byte)((t.EarliestOutConflict is null ? 0 : EarliestOutConflictFlag) | (t.LastWriterWins.Count == 0 ? 0 : LastWriterWinsFlag)));
            if (t.EarliestOutConflict is { } earliest)
            {
                writer.WriteVarInt(earliest.Value);
            }

            WriteItems(writer, t.Reads, names);
            WriteItems(writer, t.Writes, names);
            if (t.LastWriterWins.Count > 0)
            {
                // Folding into the summary leaves these out: a restored certifier must fold alike.
                WriteItems(writer, t.LastWriterWins, names);
            }
        }

        var summary = certifier.Summary;
        writer.WriteByte((byte)(summary.Collapsed ? 1 : 0));
        WriteMap(writer, summary.Rows, names);
        WriteMap(writer, summary.Tables, names);
    }

    /// <summary>Replaces <paramref name="certifier"/>'s (empty) state with what <see cref="Write"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The state is malformed, or was written by a certifier of another capacity (its verdicts would differ).</exception>
    public static void Read(ref CodecReader reader, NameTable names, SsiCertifier certifier)
    {
        var written = reader.ReadVarUInt();
        if (written != (ulong)certifier.Capacity)
        {
            throw new InvalidDataException($"Log checkpoint was written by a certifier of capacity {written}, this one holds {certifier.Capacity}: its verdicts would differ.");
        }

        var horizon = new CertificationSequence(reader.ReadVarInt());
        var count = reader.ReadCount();
        var remembered = new List<CommittedTransaction>(count);
        for (var i = 0; i < count; i++)
        {
            var id = new TransactionId(reader.ReadGuid());
            var position = new CertificationSequence(reader.ReadVarInt());
            var snapshot = new CertificationSequence(reader.ReadVarInt());
            var flags = reader.ReadByte();
            if (flags > (EarliestOutConflictFlag | LastWriterWinsFlag))
            {
                throw new InvalidDataException($"Log checkpoint is malformed: unknown flags 0x{flags:X2} for transaction {id}.");
            }

            if (remembered.Count > 0 && position <= remembered[^1].Position)
            {
                throw new InvalidDataException($"Log checkpoint is malformed: transaction {id} at {position} is not after the one before it ({remembered[^1].Position}).");
            }

            CertificationSequence? earliest = (flags & EarliestOutConflictFlag) != 0 ? new CertificationSequence(reader.ReadVarInt()) : null;
            ItemId[] reads = [.. ReadItems(ref reader, names)];
            var writes = ReadItems(ref reader, names);
            HashSet<ItemId> lastWriterWins = (flags & LastWriterWinsFlag) != 0 ? ReadItems(ref reader, names) : [];
            remembered.Add(new CommittedTransaction(id, position, snapshot, reads, writes) { EarliestOutConflict = earliest, LastWriterWins = lastWriterWins });
        }

        var summaryFlags = reader.ReadByte();
        if (summaryFlags > 1)
        {
            throw new InvalidDataException($"Log checkpoint is malformed: unknown summary flags 0x{summaryFlags:X2}.");
        }

        var rows = ReadMap(ref reader, names);
        var tables = ReadMap(ref reader, names);
        certifier.Summary.Restore(summaryFlags == 1, rows, tables);
        certifier.Restore(horizon, remembered);
    }

    private static void WriteItems(CodecWriter writer, IReadOnlyCollection<ItemId> items, NameTable names)
    {
        writer.WriteCount(items.Count);
        foreach (var item in items)
        {
            ItemIdCodec.Write(writer, item, names);
        }
    }

    private static HashSet<ItemId> ReadItems(ref CodecReader reader, NameTable names)
    {
        var count = reader.ReadCount();
        var items = new HashSet<ItemId>(count);
        for (var i = 0; i < count; i++)
        {
            items.Add(ItemIdCodec.Read(ref reader, names));
        }

        return items;
    }

    private static void WriteMap(CodecWriter writer, IReadOnlyDictionary<ItemId, CertificationSequence> map, NameTable names)
    {
        writer.WriteCount(map.Count);
        foreach (var (item, position) in map)
        {
            ItemIdCodec.Write(writer, item, names);
            writer.WriteVarInt(position.Value);
        }
    }

    private static Dictionary<ItemId, CertificationSequence> ReadMap(ref CodecReader reader, NameTable names)
    {
        var count = reader.ReadCount();
        var map = new Dictionary<ItemId, CertificationSequence>(count);
        for (var i = 0; i < count; i++)
        {
            var item = ItemIdCodec.Read(ref reader, names);
            if (!map.TryAdd(item, new CertificationSequence(reader.ReadVarInt())))
            {
                throw new InvalidDataException($"Log checkpoint is malformed: the certifier's summary names {item} twice.");
            }
        }

        return map;
    }
}
