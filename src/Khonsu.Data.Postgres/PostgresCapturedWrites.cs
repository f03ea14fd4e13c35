using Khonsu.Data.Backends;
using Khonsu.Data.Execution;
using Khonsu.Engine.Commit;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>What a local transaction wrote, as its capture triggers recorded it.</summary>
internal static class PostgresCapturedWrites
{
    /// <summary>
    /// Whether a local transaction wrote anything at all, and the tracked rows it changed (taken out
    /// of the capture table), in one round trip with <paramref name="validation"/> of its reads (two
    /// more, and one per changed row, when a row read was changed: see <see cref="PostgresValidation"/>).
    /// <paramref name="localId"/>: the id a Replace branch tags its rows with; null for the
    /// participant's own transaction, whose rows carry its PostgreSQL transaction id (see
    /// <see cref="PostgresSchemaInstaller"/>). <paramref name="backend"/> names the backend in errors.
    /// </summary>
    /// <param name="then">Statements sent after, in the same round trip (PREPARE TRANSACTION); none runs if one before fails.</param>
    /// <param name="async">False for a synchronous commit: Npgsql's synchronous methods run.</param>
    public static async ValueTask<(bool Wrote, IReadOnlyList<RowWrite> Writes)> ReadAsync(
        NpgsqlConnection connection, string? localId, PostgresValidation validation, string backend, bool async, CancellationToken cancellationToken,
        IReadOnlyList<NpgsqlBatchCommand>? then = null)
    {
        while (true)
        {
            var batch = new NpgsqlBatch(connection);
            try
            {
                // The validations run before the capture rows go: they check nothing unless it wrote.
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT pg_current_xact_id_if_assigned() IS NOT NULL, current_setting('{CaptureSetting}', true) IS NOT DISTINCT FROM 'on'"));
                validation.AddTo(batch);
                var take = new NpgsqlBatchCommand(
                    $"DELETE FROM {Schema}.capture WHERE tx_id = {(localId is null ? "pg_current_xact_id_if_assigned()::text" : "@id")} RETURNING tbl, key::text, first_op, last_op, old_version, new_version, image::text");
                if (localId is not null)
                {
                    take.Parameters.AddWithValue("id", localId);
                }

                batch.BatchCommands.Add(take);
                foreach (var command in then ?? [])
                {
                    batch.BatchCommands.Add(command);
                }

                var (wrote, capturing) = (false, false);
                var writes = new List<RowWrite>();
                var ran = await validation.RunAsync(
                    batch,
                    async,
                    cancellationToken,
                    async (reader, index, token) =>
                    {
                        if (index == 0)
                        {
                            await SyncOrAsync.ReadAsync(reader, async, token).ConfigureAwait(false);
                            (wrote, capturing) = (reader.GetBoolean(0), reader.GetBoolean(1));
                        }
                        else if (index == validation.Results + 1)
                        {
                            while (await SyncOrAsync.ReadAsync(reader, async, token).ConfigureAwait(false))
                            {
                                if (Describe(reader) is { } write)
                                {
                                    writes.Add(write);
                                }
                            }
                        }
                    }).ConfigureAwait(false);

                if (!ran)
                {
                    // The reads were validated row by row: the rest of the batch again, without them.
                    validation = PostgresValidation.None;
                    then = then?.Select(Copy).ToList();
                    continue;
                }

                if (wrote && localId is null && !capturing)
                {
                    // Its rows were not captured: committing would hide its writes from certification.
                    throw new KhonsuException(
                        $"The connection to PostgreSQL backend '{backend}' runs without the session setting {CaptureSetting}=on that Khonsu opens it with (startup parameter options), so the writes of this transaction were not captured. A connection pooler in front of PostgreSQL that drops startup parameters causes this; connect Khonsu to PostgreSQL directly or let the pooler pass 'options'.");
                }

                return (wrote, writes);
            }
            finally
            {
                await SyncOrAsync.DisposeAsync(batch, async).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A statement for a new batch: one command belongs to the batch it was sent in.</summary>
    private static NpgsqlBatchCommand Copy(NpgsqlBatchCommand command)
    {
        var copy = new NpgsqlBatchCommand(command.CommandText);
        foreach (NpgsqlParameter parameter in command.Parameters)
        {
            copy.Parameters.AddWithValue(parameter.ParameterName, parameter.Value ?? DBNull.Value);
        }

        return copy;
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
        // A table a mirror follows carries its row (see PostgresRowImages); others carry none.
        var image = reader.IsDBNull(6) ? null : PostgresRowImages.Parse(reader.GetString(6));
        return kind is null ? null : new RowWrite(reader.GetString(0), RowKey.Format(CapturedKey.Parse(reader.GetString(1))), kind.Value, oldVersion, kind == WriteKind.Delete ? null : newVersion, image);
    }
}
