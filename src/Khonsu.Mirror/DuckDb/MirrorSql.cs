using Apache.Arrow.Types;

namespace Khonsu.Mirror.DuckDb;

/// <summary>Names and types of the mirror's SQL on DuckDB.</summary>
internal static class MirrorSql
{
    /// <summary>The schema of the mirror's own tables (its applied position, the transactions it applied).</summary>
    public const string OwnSchema = "khonsu_mirror";

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>A source table's mirror: the schema named after its backend, the table after the table.</summary>
    public static string TableName(string backend, string table) => Quote(backend) + "." + Quote(table);

    /// <summary>The DuckDB type that holds an Arrow type of the change stream.</summary>
    public static string TypeOf(IArrowType type) => type.TypeId switch
    {
        ArrowTypeId.Int64 => "BIGINT",
        ArrowTypeId.Double => "DOUBLE",
        ArrowTypeId.Boolean => "BOOLEAN",
        ArrowTypeId.Binary => "BLOB",
        ArrowTypeId.String => "VARCHAR",
        _ => throw new NotSupportedException($"The mirror has no column type for Arrow type {type.Name}."),
    };

    public const string CreateOwnTables = $"""
        CREATE SCHEMA IF NOT EXISTS {OwnSchema};
        CREATE TABLE IF NOT EXISTS {OwnSchema}.applied (
            id INTEGER PRIMARY KEY, through_position BIGINT NOT NULL, last_commit_position BIGINT, last_committed_at TIMESTAMPTZ, applied_at TIMESTAMPTZ NOT NULL);
        CREATE TABLE IF NOT EXISTS {OwnSchema}.transactions (
            tx_id VARCHAR PRIMARY KEY, position BIGINT NOT NULL, committed_at TIMESTAMPTZ NOT NULL, rows INTEGER NOT NULL);
        """;
}
