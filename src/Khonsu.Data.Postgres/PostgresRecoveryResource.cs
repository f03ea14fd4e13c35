using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Recovery;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// Recovery for a PostgreSQL backend: Khonsu's prepared transactions are in pg_prepared_xacts
/// under the gid "khonsu:&lt;log tag&gt;:&lt;tx id&gt;", and a Replace branch's under
/// "khonsu:&lt;log tag&gt;:&lt;tx id&gt;/r" (both are the transaction's, decided together); the
/// applied-markers tell a committed one from one that never prepared. Only the governing log's
/// transactions are listed, and those whose gid names no log (prepared by an older build); another
/// log's are never touched. COMMIT PREPARED and ROLLBACK PREPARED work from any session.
/// </summary>
internal sealed class PostgresRecoveryResource(PostgresBackend backend, NpgsqlDataSource dataSource) : IRecoverableResource
{
    public string Name => backend.Name;

    /// <summary>The tag of the log this recovery works for (read at each use: the runtime sets it once the log is open).</summary>
    private string? LogTag => backend.GoverningLog?.Tag;

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
            if (await FinishPreparedAsync(connection, transactionId, "COMMIT PREPARED", cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            var applied = await InnerCommands.ScalarAsync(
                connection, null, $"SELECT 1 FROM {Schema}.applied WHERE tx_id IN (@id, @id || @branch)", cancellationToken, ("id", transactionId.ToString()), ("branch", BranchSuffix)).ConfigureAwait(false);
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
            await FinishPreparedAsync(connection, transactionId, "ROLLBACK PREPARED", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs <paramref name="verb"/> on the transaction's prepared gids (its own, its Replace
    /// branch's, each with this log's tag or with none); whether it found any.
    /// </summary>
    private async ValueTask<bool> FinishPreparedAsync(NpgsqlConnection connection, TransactionId transactionId, string verb, CancellationToken cancellationToken)
    {
        string[] gids = LogTag is { } tag
            ? [Gid(tag, transactionId), BranchGid(tag, transactionId), Gid(null, transactionId), BranchGid(null, transactionId)]
            : [Gid(null, transactionId), BranchGid(null, transactionId)];
        var prepared = await InnerCommands.QueryAsync(
            connection,
            null,
            "SELECT gid FROM pg_prepared_xacts WHERE gid = ANY(@gids) AND database = current_database()",
            reader => reader.GetString(0),
            cancellationToken,
            ("gids", gids)).ConfigureAwait(false);
        foreach (var gid in prepared)
        {
            await InnerCommands.ExecuteAsync(connection, null, $"{verb} {Literal(gid)}", cancellationToken).ConfigureAwait(false);
        }

        return prepared.Count > 0;
    }

    private async ValueTask<IReadOnlyList<PreparedTransaction>> ListAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var rows = await InnerCommands.QueryAsync(
            connection,
            null,
            "SELECT gid, prepared FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, @prefix)",
            reader => (Gid: reader.GetString(0), PreparedAt: reader.GetFieldValue<DateTimeOffset>(1)),
            cancellationToken,
            ("prefix", GidPrefix)).ConfigureAwait(false);
        var tag = LogTag;

        // Another log's transactions are that log's to settle. A transaction and its Replace
        // branch are one entry, as old as its older gid.
        return rows
            .Select(row => (Ok: TryParseGid(row.Gid, out var logTag, out var id), LogTag: logTag, Id: id, row.PreparedAt))
            .Where(row => row.Ok && (row.LogTag is null || row.LogTag == tag))
            .GroupBy(row => row.Id)
            .Select(group => new PreparedTransaction(group.Key, group.Min(row => row.PreparedAt), OfThisLog: tag is not null && group.All(row => row.LogTag == tag)))
            .ToList();
    }
}
