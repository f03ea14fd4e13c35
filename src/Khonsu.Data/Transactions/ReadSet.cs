using Khonsu.Data.Routing;
using Khonsu.Engine;

namespace Khonsu.Data.Transactions;

/// <summary>
/// The tables a serializable transaction read whole, which certification checks against
/// concurrent writes. Other levels certify writes only, so they record nothing.
/// </summary>
internal sealed class ReadSet(bool serializable)
{
    private readonly HashSet<ItemId> _tableReads = [];

    /// <summary>
    /// A result set of the statement was read. Its rows, read one by one, cover only a point
    /// lookup's read (<see cref="RouteDecision.PointKeys"/>): any other statement may match rows a
    /// concurrent transaction inserts, so it reads each of its tables whole, as do tables whose
    /// rows the result did not carry one by one (an aggregate, a projection without the key, an
    /// empty result). A point write's result is rows it wrote (see <see cref="RecordWriteReads"/>).
    /// </summary>
    public void RecordTableReads(RouteDecision route, IReadOnlyCollection<string> readByRow)
    {
        if (serializable && !(route.Writes && route.PointKeys is not null))
        {
            RecordWholeTables(route, route.PointKeys is null ? [] : readByRow);
        }
    }

    /// <summary>
    /// A writing statement ran, <paramref name="recordsAffected"/> rows (null: unknown). Its WHERE
    /// (and any query it holds) read each of its tables whole, even when it returned nothing,
    /// unless it is a point write that found every key: the captured writes of those rows cover it.
    /// </summary>
    public void RecordWriteReads(RouteDecision route, int? recordsAffected)
    {
        if (serializable && route.Writes && !(route.PointKeys is { } keys && recordsAffected >= keys))
        {
            RecordWholeTables(route, []);
        }
    }

    /// <summary>
    /// Whether the transaction read a table of <paramref name="backend"/> whole (or something there
    /// that is not a table): its rows read one by one then do not cover its reads there.
    /// </summary>
    public bool ReadsWholeTablesOn(string backend)
    {
        var name = ItemId.AnyTableOf(backend).Backend;
        return _tableReads.Any(item => item.Backend == name);
    }

    /// <summary>What the commit request certifies: these tables and the participants' row reads.</summary>
    public IReadOnlyCollection<ItemId> Reads(IEnumerable<ItemId> rowReads) => serializable ? [.. _tableReads, .. rowReads] : [];

    private void RecordWholeTables(RouteDecision route, IReadOnlyCollection<string> exceptReadByRow)
    {
        var backend = route.Backend.Name;
        foreach (var table in route.ReadTables)
        {
            if (!exceptReadByRow.Contains(table, StringComparer.OrdinalIgnoreCase))
            {
                _tableReads.Add(ItemId.Of(backend, table));
            }
        }

        if (route.ReadsUnknownRelations)
        {
            _tableReads.Add(ItemId.AnyTableOf(backend));
        }
    }
}
