using Khonsu.Data.Backends;

namespace Khonsu.Data.Routing;

/// <summary>
/// Folds what the database's parser says a statement reads (<see cref="StatementReads"/>) into
/// its route's read set. Only ever adds to the tables the text names, never drops one; what it
/// removes is the whole-backend read of a name that turned out to be a view over known tables.
/// Anything the parser reports that is not a known table of the backend keeps that whole-backend read.
/// </summary>
internal static class ParsedReadTables
{
    public static RouteDecision Apply(RouteDecision route, StatementReads reads, TableMap tables)
    {
        var readTables = new List<string>(route.ReadTables);
        var unknown = reads.ReadsAnything;
        foreach (var (schema, name) in reads.Tables)
        {
            if (!tables.OwnersOf(new TableReference(schema, name, Quoted: true)).Contains(route.Backend))
            {
                unknown = true; // a temporary table, a partition, a foreign table...: not tracked, so anything may change under it
            }
            else if (!readTables.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                readTables.Add(name);
            }
        }

        var widened = readTables.Count > route.ReadTables.Count || (unknown && !route.ReadsUnknownRelations);
        if (!widened && unknown == route.ReadsUnknownRelations)
        {
            return route;
        }

        // A point statement whose trigger or function reads more is no longer covered by its own rows.
        return route with { ReadTables = readTables, ReadsUnknownRelations = unknown, PointKeys = widened ? null : route.PointKeys, Lookup = widened ? null : route.Lookup };
    }
}
