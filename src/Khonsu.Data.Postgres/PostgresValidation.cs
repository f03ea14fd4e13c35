using Khonsu.Data.Backends;
using Khonsu.Data.Execution;
using Npgsql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// The statements that validate a read set (see <see cref="PostgresReadSet"/>) inside a batch of
/// the caller's, in a savepoint, and what a failure of one of them means. A row read that was
/// changed since the snapshot (40001 from the executor) or that an unfinished writer holds (55P03
/// from NOWAIT) does not refuse the transaction: the savepoint is rolled back, the rows are
/// validated again one by one to learn which, and those are left to the certifier as stale reads.
/// </summary>
internal sealed class PostgresValidation
{
    private const string Savepoint = "khonsu_validation";

    private readonly PostgresReadSet? _reads;
    private readonly IReadOnlyList<NpgsqlBatchCommand> _locks;
    private readonly bool _onlyIfWrote;
    private readonly Func<PostgresException, Exception>? _refusal;

    public PostgresValidation(PostgresReadSet reads, IReadOnlyList<NpgsqlBatchCommand> locks, bool onlyIfWrote, Func<PostgresException, Exception> refusal)
        => (_reads, _locks, _onlyIfWrote, _refusal) = (reads, locks, onlyIfWrote, refusal);

    private PostgresValidation() => _locks = [];

    /// <summary>Nothing to validate.</summary>
    public static PostgresValidation None { get; } = new();

    /// <summary>The result sets its statements add to the batch, one per lock statement.</summary>
    public int Results => _locks.Count;

    /// <summary>Adds its statements to <paramref name="batch"/>: a savepoint, the locks, its release.</summary>
    public void AddTo(NpgsqlBatch batch)
    {
        if (_locks.Count == 0)
        {
            return;
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("SAVEPOINT " + Savepoint));
        foreach (var command in _locks)
        {
            batch.BatchCommands.Add(command);
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("RELEASE SAVEPOINT " + Savepoint));
    }

    /// <summary>
    /// Runs a batch holding this validation among other statements, each result read to its end.
    /// False when a read row was changed or held: nothing after the failing statement ran, the rows
    /// were validated again one by one (the changed ones recorded in the read set, the others locked
    /// as before), and the caller sends the rest of its batch again without this validation.
    /// </summary>
    /// <param name="async">False for a synchronous caller: Npgsql's synchronous methods run (see <see cref="SyncOrAsync"/>).</param>
    public async ValueTask<bool> RunAsync(NpgsqlBatch batch, bool async, CancellationToken cancellationToken, Func<NpgsqlDataReader, int, CancellationToken, ValueTask>? readResult = null)
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

            return true;
        }
        catch (PostgresException error) when (_reads is not null && IsRowConflict(error))
        {
            // No other statement Khonsu batches with a validation can fail with a row conflict.
            await InnerCommands.ExecuteAsync(batch.Connection!, null, $"ROLLBACK TO SAVEPOINT {Savepoint}; RELEASE SAVEPOINT {Savepoint}", async, cancellationToken).ConfigureAwait(false);
            await _reads.FindChangedRowsAsync(batch.Connection!, _onlyIfWrote, _refusal!, async, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (PostgresException error) when (_refusal is not null && error.SqlState == PostgresErrorCodes.SerializationFailure)
        {
            // PostgreSQL's own SSI (participants at SERIALIZABLE) refused: it names no row.
            throw _refusal(error);
        }
    }

    /// <summary>
    /// A row the statement locks was updated or deleted since the snapshot (40001 from the executor
    /// or the heap access method), or a writer that has not finished holds it (55P03, NOWAIT). Not
    /// PostgreSQL's own SSI (predicate.c), whose 40001 names no row.
    /// </summary>
    public static bool IsRowConflict(PostgresException error)
        => error.SqlState == PostgresErrorCodes.LockNotAvailable
            || (error.SqlState == PostgresErrorCodes.SerializationFailure && error.Routine is { } routine
                && (routine.StartsWith("Exec", StringComparison.Ordinal) || routine.StartsWith("heap", StringComparison.Ordinal)));
}
