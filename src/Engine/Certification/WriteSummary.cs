using Khonsu.Engine.Codec;

namespace Khonsu.Engine.Certification;

/// <summary>
/// What the certifier keeps of forgotten transactions: the last commit position that wrote each
/// row, collapsed to one entry per table when it grows past its budget (coarser, never laxer).
/// </summary>
internal sealed class WriteSummary(int budget)
{
    private readonly Dictionary<ItemId, CertificationSequence> _rows = [];
    private readonly Dictionary<ItemId, CertificationSequence> _tables = [];
    private bool _collapsed;

    public void Add(CommittedTransaction transaction)
    {
        foreach (var write in transaction.Writes)
        {
            Raise(_tables, write.TableOf, transaction.Position);
            Raise(_tables, write.AnyTableOfBackend, transaction.Position);
            if (!write.IsTable && !_collapsed)
            {
                Raise(_rows, write, transaction.Position);
            }
        }

        if (_rows.Count > budget)
        {
            // From now on table entries alone cover every row: coarser, never laxer.
            _rows.Clear();
            _collapsed = true;
        }
    }

    /// <summary>An item the transaction read (or wrote) that a forgotten transaction wrote after its snapshot.</summary>
    public ItemId? ConflictsWith(CommittedTransaction t, bool serializable)
    {
        var items = serializable ? t.Reads.Concat(t.FirstCommitterWins) : t.FirstCommitterWins;
        foreach (var item in items)
        {
            var table = _tables.GetValueOrDefault(item.TableOf);
            if (table <= t.Snapshot)
            {
                continue;
            }

            if (item.IsTable || _collapsed || _rows.GetValueOrDefault(item) > t.Snapshot)
            {
                return item;
            }
        }

        return null;
    }

    /// <summary>Its exact state, entries in their dictionaries' order, for a checkpoint (see <c>SharedLog.LogOrderCertifier.WriteState</c>).</summary>
    public void WriteState(CodecWriter writer, NameTable names)
    {
        writer.WriteByte((byte)(_collapsed ? 1 : 0));
        WriteMap(writer, _rows, names);
        WriteMap(writer, _tables, names);
    }

    public void ReadState(ref CodecReader reader, NameTable names)
    {
        var flags = reader.ReadByte();
        if (flags > 1)
        {
            throw new InvalidDataException($"Log checkpoint is malformed: unknown summary flags 0x{flags:X2}.");
        }

        _collapsed = flags == 1;
        ReadMap(ref reader, _rows, names);
        ReadMap(ref reader, _tables, names);
    }

    private static void WriteMap(CodecWriter writer, Dictionary<ItemId, CertificationSequence> map, NameTable names)
    {
        writer.WriteCount(map.Count);
        foreach (var (item, position) in map)
        {
            ItemIdCodec.Write(writer, item, names);
            writer.WriteVarInt(position.Value);
        }
    }

    private static void ReadMap(ref CodecReader reader, Dictionary<ItemId, CertificationSequence> map, NameTable names)
    {
        map.Clear();
        var count = reader.ReadCount();
        for (var i = 0; i < count; i++)
        {
            var item = ItemIdCodec.Read(ref reader, names);
            if (!map.TryAdd(item, new CertificationSequence(reader.ReadVarInt())))
            {
                throw new InvalidDataException($"Log checkpoint is malformed: the certifier's summary names {item} twice.");
            }
        }
    }

    private static void Raise(Dictionary<ItemId, CertificationSequence> map, ItemId item, CertificationSequence position)
    {
        if (!map.TryGetValue(item, out var current) || current < position)
        {
            map[item] = position;
        }
    }
}
