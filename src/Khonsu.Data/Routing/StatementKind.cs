namespace Khonsu.Data.Routing;

/// <summary>What kind of statement a SQL text starts with; Ddl if any of its statements changes the schema.</summary>
internal enum StatementKind
{
    Query,
    Dml,
    Ddl,
    TransactionControl,
    Other,
}
