using System.Collections.Concurrent;
using System.Data.Common;
using Khonsu.Data.Backends;

namespace Khonsu.Data.Routing;

/// <summary>
/// Sends each statement to the backend that owns the tables (or views) it names. Decisions are
/// cached per SQL text; a new table map (after DDL) starts a new cache.
/// </summary>
internal sealed class StatementRouter
{
    private const int MaxCachedStatements = 10_000;

    private readonly IReadOnlyList<KhonsuBackend> _backends;
    private readonly IReadOnlyDictionary<string, string> _routes;
    private volatile State _state;

    public StatementRouter(IReadOnlyList<KhonsuBackend> backends, IReadOnlyDictionary<string, string> routes, TableMap tables)
    {
        _backends = backends;
        _routes = routes;
        _state = new State(tables);
    }

    public void Replace(TableMap tables) => _state = new State(tables);

    public RouteDecision Route(string sql)
    {
        var state = _state;
        if (state.Cache.TryGetValue(sql, out var cached))
        {
            return cached;
        }

        var decision = Decide(sql, state.Tables);
        if (state.Cache.Count < MaxCachedStatements)
        {
            state.Cache.TryAdd(sql, decision);
        }

        return decision;
    }

    /// <summary>
    /// The route with the read set the backend's own parser gives (see <see cref="ParsedReadTables"/>),
    /// asked once per SQL text and table map; the command carries the text and its parameters. A
    /// route that is not the router's own for the text (EF Core's, on the backend its context
    /// fixes) is refined from the same answer when it was asked the same question, else asked anew.
    /// </summary>
    public async ValueTask<RouteDecision> WithParsedReadsAsync(RouteDecision route, BackendTransaction local, DbCommand command, CancellationToken cancellationToken)
    {
        if (route.ChangesSchema)
        {
            return route;
        }

        var state = _state;
        var sql = command.CommandText;
        if (state.ParsedReads.TryGetValue(sql, out var parsed) && parsed.Answers(route))
        {
            return ReferenceEquals(parsed.Route, route) ? parsed.Refined : Refine(route, parsed.Reads, state.Tables);
        }

        var reads = await local.ParseReadsAsync(command, route.ReadsUnknownRelations, route.Writes, cancellationToken).ConfigureAwait(false);
        var refined = Refine(route, reads, state.Tables);
        if (parsed is null && state.ParsedReads.Count < MaxCachedStatements)
        {
            state.ParsedReads.TryAdd(sql, new ParsedRoute(route, reads, refined));
        }

        return refined;
    }

    private static RouteDecision Refine(RouteDecision route, StatementReads? reads, TableMap tables)
        => reads is null ? route : ParsedReadTables.Apply(route, reads, tables);

    private RouteDecision Decide(string sql, TableMap tables)
    {
        var scan = SqlTableReferenceScanner.Scan(sql);
        var chosen = new List<(KhonsuBackend Backend, string Table)>();
        var owned = new List<(KhonsuBackend? Owner, string Table)>();
        foreach (var table in scan.Tables)
        {
            var owner = OwnerOf(table, tables);
            owned.Add((owner, table.Name));
            if (owner is not null && !chosen.Any(c => c.Backend == owner))
            {
                chosen.Add((owner, table.Name));
            }
        }

        if (chosen.Count > 1)
        {
            var (first, second) = (chosen[0], chosen[1]);
            throw new KhonsuException(
                $"The statement names table '{first.Table}' of backend '{first.Backend.Name}' and table '{second.Table}' of backend '{second.Backend.Name}'. "
                + "Khonsu runs each statement on one backend: split it into one statement per backend (cross-database joins are not supported).");
        }

        var backend = chosen.Count == 1 ? chosen[0].Backend : _backends[0];
        if (scan.Kind is StatementKind.Ddl or StatementKind.TransactionControl)
        {
            return new RouteDecision(backend, scan.Kind == StatementKind.Ddl, [], false) { Writes = scan.Kind == StatementKind.Ddl, ControlsTransaction = scan.ControlsTransaction };
        }

        var named = owned.Where(t => t.Owner is not null).Select(t => t.Table).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var readTables = named;
        // A name that is no table of the backend (a view, a function), routed there by Route.x, by the
        // catalog's views or not at all, may read any of them: only the parser can narrow that.
        var unknown = scan.Tables.Any(t => !tables.OwnersOf(t).Contains(backend));
        var onlyTable = scan.Tables.Count == 1 && owned[0].Owner is { } onlyOwner ? tables.TableOf(onlyOwner, scan.Tables[0]) : null;
        if (onlyTable is not null && scan.Writes && PointLookupDetector.IsPlainInsert(sql))
        {
            readTables = [];
        }

        var lookup = onlyTable is null || readTables.Count == 0 ? null : PointLookupDetector.LookupOf(sql, onlyTable.KeyColumns);
        return new RouteDecision(backend, false, readTables, unknown)
        {
            // Over array parameters, the count waits for an execution's values (ForExecution).
            PointKeys = lookup is { KeyArrays.Count: 0 } ? lookup.Keys : null,
            Lookup = lookup,
            Writes = scan.Writes || scan.Kind == StatementKind.Dml,
            Tables = named,
            ControlsTransaction = scan.ControlsTransaction,
        };
    }

    private KhonsuBackend? OwnerOf(TableReference table, TableMap tables)
    {
        if (_routes.TryGetValue(table.Name, out var routed) || (table.Schema is not null && _routes.TryGetValue(table.Schema + "." + table.Name, out routed)))
        {
            return _backends.First(b => b.Name.Equals(routed, StringComparison.OrdinalIgnoreCase));
        }

        // A view routes as a table does, but only routes: it stays an unknown relation for the read set (see Decide).
        var tableOwners = tables.OwnersOf(table);
        var viewOwners = tables.ViewOwnersOf(table);
        var owners = tableOwners.Union(viewOwners).ToList();
        var kind = viewOwners.Count == 0 ? "Table" : tableOwners.Count == 0 ? "View" : "Table or view";
        return owners.Count switch
        {
            0 => null, // Unknown here: the database reports it if it does not exist.
            1 => owners[0],
            _ => throw new KhonsuException(
                $"{kind} '{table.Name}' exists in backends {string.Join(" and ", owners.Select(o => $"'{o.Name}'"))}: add Route.{table.Name}=<backend> to the connection string to say which one to use."),
        };
    }

    /// <summary>A parser's answer (null: it could not tell) for a route, and the route it made of it.</summary>
    private sealed record ParsedRoute(RouteDecision Route, StatementReads? Reads, RouteDecision Refined)
    {
        /// <summary>Whether the answer holds for <paramref name="other"/>: the same backend was asked the same question.</summary>
        public bool Answers(RouteDecision other)
            => ReferenceEquals(other, Route)
                || (other.Backend == Route.Backend && other.ReadsUnknownRelations == Route.ReadsUnknownRelations && other.Writes == Route.Writes);
    }

    private sealed class State(TableMap tables)
    {
        public TableMap Tables { get; } = tables;

        public ConcurrentDictionary<string, RouteDecision> Cache { get; } = new(StringComparer.Ordinal);

        /// <summary>What the backends' parsers said each SQL text reads, and the route it refined.</summary>
        public ConcurrentDictionary<string, ParsedRoute> ParsedReads { get; } = new(StringComparer.Ordinal);
    }
}
