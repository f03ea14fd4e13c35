namespace Khonsu.Data.Backends;

/// <summary>The tables of one backend, and its views (for routing only), as its catalog reported them.</summary>
public sealed class BackendCatalog(IReadOnlyList<TableInfo> tables, IReadOnlyList<ViewInfo>? views = null)
{
    /// <summary>The backend's tables, with their keys and columns, as Khonsu routes and tracks them.</summary>
    public IReadOnlyList<TableInfo> Tables { get; } = tables;

    /// <summary>The backend's views: a statement that names one is routed to this backend.</summary>
    public IReadOnlyList<ViewInfo> Views { get; } = views ?? [];
}
