using System.Data.Common;

namespace Khonsu.Data.Backends;

/// <summary>
/// Where a backend records the commit log that governs it: one row in a table of Khonsu's own
/// (PostgreSQL's khonsu schema, SQLite's khonsu_ prefix), claimed by the first runtime that opens
/// the database and compared by every later one. A database belongs to one log: two logs would
/// each certify half of its transactions and each settle the other's prepared ones.
/// </summary>
/// <remarks>
/// The row's columns are <c>id</c> (always 1: at most one row), <c>log_id</c> (the log's
/// <see cref="Engine.Log.LogIdentity.Id"/>), <c>log</c> (its description, for humans),
/// <c>claimed_at</c> and <c>claimed_by</c> (the node that claimed it or moved it there). Khonsu.Data
/// reads and writes it with SQL that SQLite and PostgreSQL both accept; the schema installer
/// creates the table.
/// </remarks>
public abstract class LogOwnerTable
{
    /// <summary>The table as SQL names it (e.g. <c>khonsu.log_owner</c>).</summary>
    public abstract string Table { get; }

    /// <summary>Whether the table exists (it may not yet with <c>Schema=Manual</c>).</summary>
    public abstract ValueTask<bool> ExistsAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>A timestamp as a parameter value for the claimed_at column.</summary>
    public abstract object Timestamp(DateTimeOffset value);
}
