using Khonsu.Data.Backends;
using Khonsu.Engine.Commit;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>What a local transaction wrote, as its capture triggers recorded it.</summary>
internal static class PostgresCapturedWrites
{
    /// <summary>Whether a local transaction wrote anything at all, and the tracked rows it changed (taken out of the capture table).</summary>
    public static async ValueTask<(bool Wrote, IReadOnlyList<RowWrite> Writes)> ReadAsync(NpgsqlConnection connection, string localId, CancellationToken cancellationToken)
    {
        var command = InnerCommands.Create(
            connection,
            null,
            $"SELECT pg_current_xact_id_if_assigned() IS NOT NULL; DELETE FROM {Schema}.capture WHERE tx_id = @id RETURNING tbl, key::text, first_op, last_op, old_version, new_version",
            ("id", localId));
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var wrote = reader.GetBoolean(0);
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                var writes = new List<RowWrite>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (Describe(reader) is { } write)
                    {
                        writes.Add(write);
                    }
                }

                return (wrote, writes);
            }
        }
    }

    private static RowWrite? Describe(System.Data.Common.DbDataReader reader)
    {
        var (first, last) = (reader.GetChar(2), reader.GetChar(3));
        long? oldVersion = reader.IsDBNull(4) ? null : reader.GetInt64(4);
        long? newVersion = reader.IsDBNull(5) ? null : reader.GetInt64(5);
        var kind = (first, last) switch
        {
            ('I', 'D') => (WriteKind?)null, // inserted and deleted again
            ('I', _) => WriteKind.Insert,
            (_, 'D') => WriteKind.Delete,
            _ => WriteKind.Update,
        };
        return kind is null ? null : new RowWrite(reader.GetString(0), RowKey.Format(CapturedKey.Parse(reader.GetString(1))), kind.Value, oldVersion, kind == WriteKind.Delete ? null : newVersion);
    }
}
