using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Recovery;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// Recovery for a PostgreSQL backend: Khonsu's prepared transactions are in pg_prepared_xacts
/// under the gid "khonsu:&lt;tx id&gt;"; the applied-marker tells a committed one from one that
/// never prepared. COMMIT PREPARED and ROLLBACK PREPARED work from any session.
/// </summary>
internal sealed class PostgresRecoveryResource(string name, NpgsqlDataSource dataSource) : IRecoverableResource
{
    public string Name => name;

    public async ValueTask<IReadOnlyList<PreparedTransaction>> ListPreparedAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await ListAsync(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask CommitAsync(TransactionId transactionId, ParticipantVote vote, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            if (await IsPreparedAsync(connection, transactionId, cancellationToken).ConfigureAwait(false))
            {
                await InnerCommands.ExecuteAsync(connection, null, $"COMMIT PREPARED {Literal(Gid(transactionId))}", cancellationToken).ConfigureAwait(false);
                return;
            }

            var applied = await InnerCommands.ScalarAsync(
                connection, null, $"SELECT 1 FROM {Schema}.applied WHERE tx_id = @id", cancellationToken, ("id", transactionId.ToString())).ConfigureAwait(false);
            if (applied is null && vote.Writes.Count > 0)
            {
                throw new InvalidOperationException(
                    $"transaction {transactionId} is committed in the log but '{Name}' holds neither its prepared transaction nor its applied-marker (was it rolled back by hand?)");
            }
        }
    }

    public async ValueTask AbortAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            if (await IsPreparedAsync(connection, transactionId, cancellationToken).ConfigureAwait(false))
            {
                await InnerCommands.ExecuteAsync(connection, null, $"ROLLBACK PREPARED {Literal(Gid(transactionId))}", cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async ValueTask<bool> IsPreparedAsync(NpgsqlConnection connection, TransactionId transactionId, CancellationToken cancellationToken)
        => await InnerCommands.ScalarAsync(
            connection, null, "SELECT 1 FROM pg_prepared_xacts WHERE gid = @gid AND database = current_database()", cancellationToken, ("gid", Gid(transactionId))).ConfigureAwait(false) is not null;

    private static async ValueTask<IReadOnlyList<PreparedTransaction>> ListAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var rows = await InnerCommands.QueryAsync(
            connection,
            null,
            "SELECT gid, prepared FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, @prefix)",
            reader => (Gid: reader.GetString(0), PreparedAt: reader.GetFieldValue<DateTimeOffset>(1)),
            cancellationToken,
            ("prefix", GidPrefix)).ConfigureAwait(false);
        return rows
            .Where(row => TransactionId.TryParse(row.Gid[GidPrefix.Length..], out _))
            .Select(row => new PreparedTransaction(TransactionId.Parse(row.Gid[GidPrefix.Length..]), row.PreparedAt))
            .ToList();
    }
}
