using Khonsu.Data.Backends;
using Khonsu.Engine;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// khonsu.applied of one PostgreSQL database. A marker is inserted before PREPARE TRANSACTION and
/// becomes visible to others only at COMMIT PREPARED, after the decision was logged; a Replace
/// branch's marker is keyed "&lt;tx id&gt;/r". Deleting locks only the rows it deletes, which no
/// commit writes again.
/// </summary>
internal sealed class PostgresAppliedMarkers(NpgsqlDataSource dataSource) : AppliedMarkers
{
    public override async ValueTask<IReadOnlyList<AppliedMarker>> ListAsync(string? after, int limit, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await InnerCommands.QueryAsync(
                connection,
                null,
                $"SELECT tx_id FROM {Schema}.applied WHERE tx_id > @after ORDER BY tx_id LIMIT @limit",
                reader => Marker(reader.GetString(0)),
                cancellationToken,
                ("after", after ?? string.Empty),
                ("limit", limit)).ConfigureAwait(false);
        }
    }

    public override async ValueTask<(int Deleted, TimeSpan Held)> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return (0, TimeSpan.Zero);
        }

        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var deleted = await InnerCommands.ExecuteAsync(connection, null, $"DELETE FROM {Schema}.applied WHERE tx_id = ANY(@keys)", cancellationToken, ("keys", keys.ToArray())).ConfigureAwait(false);
            return (deleted, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    private static AppliedMarker Marker(string key)
    {
        var id = key.EndsWith(BranchSuffix, StringComparison.Ordinal) ? key[..^BranchSuffix.Length] : key;
        return new AppliedMarker(key, TransactionId.TryParse(id, out var parsed) ? parsed : null);
    }
}
