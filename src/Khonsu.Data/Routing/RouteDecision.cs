using Khonsu.Data.Backends;

namespace Khonsu.Data.Routing;

/// <summary>Where a statement runs, and whether it changes the schema (so the catalog is refreshed after it).</summary>
internal sealed record RouteDecision(KhonsuBackend Backend, bool ChangesSchema);
