namespace Khonsu.Data.Backends;

/// <summary>The tables of one backend, as its catalog reported them.</summary>
public sealed class BackendCatalog(IReadOnlyList<TableInfo> tables)
{
    public IReadOnlyList<TableInfo> Tables { get; } = tables;
}
