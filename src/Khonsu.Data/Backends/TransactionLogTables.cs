using System.Data.Common;
using Khonsu.Engine.Log.Embedded;

namespace Khonsu.Data.Backends;

/// <summary>
/// How a backend holds transaction_log materialised from a Kafka log (connection-string key
/// <c>TransactionLog</c>): where its two tables go, their DDL, how a batch keeps other processes
/// that materialise into the same tables out, and how a timestamp is stored. Khonsu.Data writes
/// the rows with SQL that SQLite and PostgreSQL both accept (<c>INSERT ... ON CONFLICT</c>,
/// <c>@name</c> parameters).
/// </summary>
/// <remarks>
/// The tables are Khonsu's own: they must live where the backend's catalog does not list user
/// tables (PostgreSQL's khonsu schema, SQLite's khonsu_ prefix), so they get no version column,
/// no triggers, and no statement is ever routed to them.
/// </remarks>
public abstract class TransactionLogTables
{
    /// <summary>The table DBAs query, as SQL names it (e.g. <c>khonsu.transaction_log</c>): one row per (tx_id, participant).</summary>
    public abstract string Table { get; }

    /// <summary>The progress table, as SQL names it: per log, the last offset applied to <see cref="Table"/>.</summary>
    public abstract string ProgressTable { get; }

    /// <summary>Creates both tables when missing; idempotent, safe when several processes run it at once.</summary>
    public abstract ValueTask CreateAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// Begins a local transaction on an open inner connection that holds off every other
    /// materialiser of these tables until it ends, and whose statements see what those committed.
    /// </summary>
    public abstract ValueTask<DbTransaction> BeginBatchAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>A timestamp as a parameter value for this backend's timestamp columns.</summary>
    public abstract object Timestamp(DateTimeOffset value);

    /// <summary>A timestamp spelled as the embedded log's transaction_log spells it (ISO-8601 UTC, fixed width, so text order is time order).</summary>
    protected static string TimestampText(DateTimeOffset value) => LogText.Timestamp(value);

    /// <summary>The embedded log's own <c>CREATE TABLE IF NOT EXISTS</c> for transaction_log (SQLite), under another name.</summary>
    protected static string EmbeddedLogTableSql(string name) => EmbeddedLogSchema.TransactionLogTable(name);
}
