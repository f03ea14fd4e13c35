using System.Data.Common;
using Khonsu.Data.Backends;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// The commit log that governs a PostgreSQL database, in khonsu.log_owner (the schema installer
/// creates it; the catalog reader skips the khonsu schema, so it is never routed or tracked).
/// </summary>
internal sealed class PostgresLogOwnerTable : LogOwnerTable
{
    public static readonly PostgresLogOwnerTable Instance = new();

    /// <summary>The CREATE TABLE, run by <see cref="PostgresSchemaInstaller"/> with Khonsu's other tables.</summary>
    public static readonly string Create = $"""
        CREATE TABLE IF NOT EXISTS {Schema}.log_owner (
            id integer PRIMARY KEY CHECK (id = 1),
            log_id text NOT NULL,
            log text NOT NULL,
            claimed_at timestamptz NOT NULL,
            claimed_by text);
        """;

    public override string Table => $"{Schema}.log_owner";

    public override async ValueTask<bool> ExistsAsync(DbConnection connection, CancellationToken cancellationToken)
        => await InnerCommands.ScalarAsync(connection, null, $"SELECT to_regclass({Literal(Table)}) IS NOT NULL", cancellationToken).ConfigureAwait(false) is true;

    public override object Timestamp(DateTimeOffset value) => value.ToUniversalTime();
}
