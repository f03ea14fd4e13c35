using System.Data.Common;
using System.Globalization;
using Khonsu.Data.Backends;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// The commit log that governs a SQLite database, in khonsu_log_owner (the schema installer
/// creates it; the catalog reader skips khonsu_ tables, so it is never routed or tracked).
/// </summary>
internal sealed class SqliteLogOwnerTable : LogOwnerTable
{
    public const string Name = "khonsu_log_owner";

    public static readonly SqliteLogOwnerTable Instance = new();

    /// <summary>The CREATE TABLE, run by <see cref="SqliteSchemaInstaller"/> with Khonsu's other tables.</summary>
    public const string Create = $"""
        CREATE TABLE IF NOT EXISTS {Name} (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            log_id TEXT NOT NULL,
            log TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            claimed_by TEXT)
        """;

    public override string Table => Name;

    public override async ValueTask<bool> ExistsAsync(DbConnection connection, CancellationToken cancellationToken)
        => await InnerCommands.ScalarAsync(connection, null, $"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{Name}'", cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>ISO-8601 UTC, as every timestamp Khonsu writes to SQLite.</summary>
    public override object Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
