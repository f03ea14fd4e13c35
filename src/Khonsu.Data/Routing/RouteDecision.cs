using Khonsu.Data.Backends;

namespace Khonsu.Data.Routing;

/// <summary>
/// Where a statement runs, and whether it changes the schema (so the catalog is refreshed after it).
/// <paramref name="ReadTables"/> are the backend's tables the statement names: what a result set it
/// returns may have read, for the certifier;
/// <paramref name="ReadsUnknownRelations"/> says it also names something that is not a known
/// table (a view, a function), so it may read any table of the backend.
/// </summary>
internal sealed record RouteDecision(KhonsuBackend Backend, bool ChangesSchema, IReadOnlyList<string> ReadTables, bool ReadsUnknownRelations)
{
    /// <summary>The statement writes (DML or DDL), as its text says: what a read-only transaction refuses before running it.</summary>
    public bool Writes { get; init; }
}
