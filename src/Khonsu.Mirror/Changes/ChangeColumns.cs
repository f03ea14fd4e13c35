namespace Khonsu.Mirror.Changes;

/// <summary>
/// The columns every change batch starts with, before the source table's own columns. Their names
/// begin with an underscore and "khonsu" so that they never meet a source column's name.
/// </summary>
public static class ChangeColumns
{
    /// <summary>The commit record's position in the log (int64): the commit order.</summary>
    public const string Position = "_khonsu_position";

    /// <summary>The transaction's id (utf8, a UUIDv7).</summary>
    public const string TransactionId = "_khonsu_tx_id";

    /// <summary>What the transaction did to the row (utf8): insert, update or delete.</summary>
    public const string Operation = "_khonsu_op";

    /// <summary>The row's primary key in canonical text (utf8; composite keys joined by U+001F).</summary>
    public const string Key = "_khonsu_key";

    /// <summary>The row's version before the transaction (int64, null for an insert).</summary>
    public const string BeforeVersion = "_khonsu_before_version";

    /// <summary>The row's version after the transaction (int64, null for a delete).</summary>
    public const string AfterVersion = "_khonsu_after_version";

    /// <summary>The metadata key of a batch's schema naming the backend.</summary>
    public const string BackendMetadata = "khonsu.backend";

    /// <summary>The metadata key of a batch's schema naming the table.</summary>
    public const string TableMetadata = "khonsu.table";

    /// <summary>The metadata key of a batch's schema listing the key columns, comma-separated.</summary>
    public const string KeyColumnsMetadata = "khonsu.key_columns";

    /// <summary>How many columns come before the source table's own.</summary>
    public const int Count = 6;
}
