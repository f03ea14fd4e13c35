using Khonsu.Data.Backends;

namespace Khonsu.Data.Routing;

/// <summary>
/// Where a statement runs, and whether it changes the schema (so the catalog is refreshed after it).
/// <paramref name="ReadTables"/> are the backend's tables the statement reads: what a result set it
/// returns may have read, and what a write filters on, for the certifier (a plain INSERT ... VALUES
/// reads none);
/// <paramref name="ReadsUnknownRelations"/> says it also names something that is not a known
/// table (a view, a function), so it may read any table of the backend.
/// </summary>
internal sealed record RouteDecision(KhonsuBackend Backend, bool ChangesSchema, IReadOnlyList<string> ReadTables, bool ReadsUnknownRelations)
{
    /// <summary>
    /// For a point lookup (see <see cref="PointLookupDetector"/>), how many keys of its one table it
    /// looks up: its rows, read one by one, cover its read when it finds that many. Null for every
    /// other statement, whose read counts as one of each whole table.
    /// </summary>
    public int? PointKeys { get; init; }

    /// <summary>
    /// The point lookup's shape (see <see cref="PointLookup"/>). Over array parameters
    /// (<c>id = ANY (@ids)</c>) <see cref="PointKeys"/> stays null, a whole-table read, until an
    /// execution's values count the keys (see <see cref="ForExecution"/>): the route is cached per
    /// text, so it holds the lookup's shape, never one execution's count.
    /// </summary>
    public PointLookup? Lookup { get; init; }

    /// <summary>
    /// This route for one execution with <paramref name="parameters"/>: a point lookup over array
    /// parameters gets their key count (still null when they cannot be counted).
    /// </summary>
    public RouteDecision ForExecution(System.Data.Common.DbParameterCollection? parameters)
        => Lookup is { KeyArrays.Count: > 0 } lookup ? this with { PointKeys = lookup.KeysFor(parameters) } : this;

    /// <summary>
    /// The statement writes (inserts, updates, deletes, merges, truncates, copies in; DDL too): what
    /// it filtered on is read even when it returns nothing, and a read-only transaction refuses it.
    /// </summary>
    public bool Writes { get; init; }

    /// <summary>The backend's known tables the statement names (written or read), for its write-write conflict policy.</summary>
    public IReadOnlyList<string> Tables { get; init; } = [];

    /// <summary>One of the text's statements is BEGIN, COMMIT, ROLLBACK, SAVEPOINT or the like: it manages its own transaction.</summary>
    public bool ControlsTransaction { get; init; }

    /// <summary>
    /// Run with no transaction in progress, the statement is a Khonsu transaction of its own
    /// (certified and committed after it): it writes rows (DML). Not DDL, which has its own path
    /// and may refuse a transaction block (CREATE INDEX CONCURRENTLY); not text that manages its
    /// own transaction; not a pure read, which sees its backend's own consistent snapshot.
    /// </summary>
    public bool RunsAsImplicitTransaction => Writes && !ChangesSchema && !ControlsTransaction;
}
