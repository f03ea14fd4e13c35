namespace Khonsu.Data.Backends;

/// <summary>The tables of one backend, and its views (for routing only), as its catalog reported them.</summary>
public sealed class BackendCatalog(IReadOnlyList<TableInfo> tables, IReadOnlyList<ViewInfo>? views = null)
{
    public IReadOnlyList<TableInfo> Tables { get; } = tables;

    public IReadOnlyList<ViewInfo> Views { get; } = views ?? [];
}
