namespace Khonsu.Data;

/// <summary>
/// What Khonsu does when a write of a transaction meets a row that a concurrent transaction wrote
/// and committed after this transaction's snapshot (a write-write conflict). Set per table with
/// <c>Conflict.&lt;table&gt;=&lt;policy&gt;</c> or <see cref="KhonsuDataSourceBuilder.ConflictPolicy"/>;
/// docs/how-khonsu-works.md says exactly where each one applies.
/// </summary>
public enum KhonsuConflictPolicy
{
    /// <summary>Abort the transaction with SqlState 40001 (transient: retry it). The default.</summary>
    Fail,

    /// <summary>Keep the committed row and drop this statement (0 rows affected); the transaction goes on.</summary>
    Ignore,

    /// <summary>This write lands over the newest committed row: last writer wins.</summary>
    Replace,

    /// <summary>
    /// Keep both rows of two inserts that took the same key: this one is inserted again under a new
    /// key the database generates (read it back with RETURNING). PostgreSQL tables whose key is
    /// one generated column only; an update or delete conflict there fails as under <see cref="Fail"/>.
    /// </summary>
    Append,
}
