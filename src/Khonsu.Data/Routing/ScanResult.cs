namespace Khonsu.Data.Routing;

/// <summary>The tables a SQL text names, its kind, and the tables its DDL creates, alters or drops.</summary>
internal sealed record ScanResult(IReadOnlyList<TableReference> Tables, StatementKind Kind, IReadOnlyList<TableReference> DdlTargets);
