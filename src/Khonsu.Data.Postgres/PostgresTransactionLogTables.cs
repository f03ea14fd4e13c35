using System.Data;
using System.Data.Common;
using Khonsu.Data.Backends;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// transaction_log materialised on PostgreSQL: in the khonsu schema, which the catalog reader
/// skips (so the tables get no version column or triggers and are never routed), with real
/// timestamptz columns so DBAs can compare them with now().
/// </summary>
internal sealed class PostgresTransactionLogTables : TransactionLogTables
{
    public static readonly PostgresTransactionLogTables Instance = new();

    // Same text as the schema installer's lock: CREATE ... IF NOT EXISTS races itself in PostgreSQL.
    private static readonly string Create = $"""
        BEGIN;
        SELECT pg_advisory_xact_lock(hashtext('khonsu.install'));
        CREATE SCHEMA IF NOT EXISTS {Schema};
        CREATE TABLE IF NOT EXISTS {Schema}.transaction_log (
            tx_id text NOT NULL,
            participant text NOT NULL,
            status text NOT NULL,
            decision text,
            node_id text,
            operation text,
            started_at timestamptz,
            decided_at timestamptz,
            finished_at timestamptz,
            abort_reason text,
            rows_written bigint,
            log_position bigint,
            PRIMARY KEY (tx_id, participant));
        CREATE TABLE IF NOT EXISTS {Schema}.transaction_log_progress (
            log text PRIMARY KEY,
            last_position bigint NOT NULL,
            updated_at timestamptz NOT NULL);
        COMMIT;
        """;

    public override string Table => $"{Schema}.transaction_log";

    public override string ProgressTable => $"{Schema}.transaction_log_progress";

    public override async ValueTask CreateAsync(DbConnection connection, CancellationToken cancellationToken)
        => await InnerCommands.ExecuteAsync(connection, null, Create, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// READ COMMITTED, so that each statement after the lock sees what the previous holder
    /// committed (REPEATABLE READ would keep the snapshot taken before the wait).
    /// </summary>
    public override async ValueTask<DbTransaction> BeginBatchAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
        try
        {
            await InnerCommands.ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext('khonsu.transaction_log'))", cancellationToken).ConfigureAwait(false);
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override object Timestamp(DateTimeOffset value) => value.ToUniversalTime();
}
