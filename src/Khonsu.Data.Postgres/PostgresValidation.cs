using Khonsu.Data.Execution;
using Npgsql;

namespace Khonsu.Data.Postgres;

/// <summary>One statement of a read validation (see <see cref="PostgresReadSet"/>), and the conflict its failure means.</summary>
internal sealed record PostgresValidation(NpgsqlBatchCommand Command, Func<PostgresException, Exception> Conflict)
{
    /// <summary>
    /// Runs a batch holding <paramref name="validations"/> among other statements, each result read
    /// to its end; a row changed or locked since the snapshot (40001, or 55P03 from NOWAIT) in one
    /// of them is that validation's conflict.
    /// </summary>
    /// <param name="async">False for a synchronous caller: Npgsql's synchronous methods run (see <see cref="Execution.SyncOrAsync"/>).</param>
    public static async ValueTask RunAsync(
        NpgsqlBatch batch, IReadOnlyList<PostgresValidation> validations, bool async, CancellationToken cancellationToken, Func<NpgsqlDataReader, int, CancellationToken, ValueTask>? readResult = null)
    {
        try
        {
            var reader = (NpgsqlDataReader)await SyncOrAsync.ExecuteReaderAsync(batch, async, cancellationToken).ConfigureAwait(false);
            try
            {
                var index = 0;
                do
                {
                    if (readResult is not null)
                    {
                        await readResult(reader, index, cancellationToken).ConfigureAwait(false);
                    }

                    index++;
                }
                while (await SyncOrAsync.NextResultAsync(reader, async, cancellationToken).ConfigureAwait(false));
            }
            finally
            {
                await SyncOrAsync.DisposeAsync(reader, async).ConfigureAwait(false);
            }
        }
        catch (PostgresException error) when (error.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.LockNotAvailable
            && Failed(validations, error) is { } failed)
        {
            throw failed.Conflict(error);
        }
    }

    /// <summary>
    /// The validation that failed: no other statement Khonsu batches with validations can fail
    /// with a conflict, so when the error does not say which one (Npgsql names the batch command it
    /// failed on, except when a batch of one runs as a plain command), it is the only one.
    /// </summary>
    private static PostgresValidation? Failed(IReadOnlyList<PostgresValidation> validations, PostgresException error)
        => validations.FirstOrDefault(v => ReferenceEquals(v.Command, error.BatchCommand))
            ?? validations.FirstOrDefault(v => v.Command.CommandText == error.BatchCommand?.CommandText)
            ?? (validations.Count == 1 ? validations[0] : null);
}
