namespace Khonsu.Data.Routing;

/// <summary>
/// The tables a SQL text names, its kind, and the tables its DDL creates, alters or drops;
/// <paramref name="Writes"/> says one of its statements (a WITH query included) inserts, updates,
/// deletes or merges; <paramref name="ControlsTransaction"/> that one of them begins, ends or
/// marks a point in a transaction itself (BEGIN, COMMIT, SAVEPOINT...).
/// </summary>
internal sealed record ScanResult(IReadOnlyList<TableReference> Tables, StatementKind Kind, IReadOnlyList<TableReference> DdlTargets, bool Writes, bool ControlsTransaction = false);
