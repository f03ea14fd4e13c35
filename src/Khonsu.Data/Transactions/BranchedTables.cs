using Khonsu.Data.Routing;
using Khonsu.Engine;

namespace Khonsu.Data.Transactions;

/// <summary>
/// Tables whose write was replaced on their backend's branch: later writes to them go there too,
/// or they would wait on the branch's row locks.
/// </summary>
internal sealed class BranchedTables
{
    private readonly HashSet<ItemId> _tables = [];

    public void Add(RouteDecision route)
    {
        foreach (var table in route.Tables)
        {
            _tables.Add(ItemId.Of(route.Backend.Name, table));
        }
    }

    /// <summary>Whether the write statement goes to its backend's Replace branch.</summary>
    public bool WritesOnBranch(RouteDecision route)
        => route.Writes && _tables.Count > 0 && route.Tables.Any(table => _tables.Contains(ItemId.Of(route.Backend.Name, table)));
}
