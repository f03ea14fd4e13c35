using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// A PostgreSQL local transaction as a participant: PREPARE TRANSACTION makes it durable but
/// undecided; COMMIT PREPARED or ROLLBACK PREPARED finishes it. A transaction that wrote nothing
/// is not prepared: it has nothing to make durable.
/// </summary>
/// <param name="validateReads">Serializable: rows read are tracked and must be unchanged at prepare. Snapshot: write-write conflicts only.</param>
internal sealed class PostgresBackendTransaction(PostgresBackend backend, NpgsqlConnection connection, TransactionId transactionId, bool validateReads)
    : BackendTransaction(backend, connection, transactionId)
{
    private State _state = State.Active;
    private bool _lockTimeoutSet;
    private readonly PostgresReadSet _reads = new();

    private enum State
    {
        Active,
        ReadOnlyPrepared,
        OnePhase,
        Prepared,
        Finished,
    }

    public override DbTransaction? InnerTransaction => null;

    /// <summary>
    /// Once the transaction spans several backends, PostgreSQL's own deadlock detector cannot see
    /// every wait: bound lock waits so a cross-database deadlock ends in an error, not a hang.
    /// </summary>
    public override async ValueTask BeforeStatementAsync(DbCommand command, bool spansSeveralBackends, CancellationToken cancellationToken)
    {
        if (spansSeveralBackends && !_lockTimeoutSet)
        {
            var milliseconds = (long)backend.Options.LockTimeout.TotalMilliseconds;
            await InnerCommands.ExecuteAsync(connection, null, $"SET LOCAL lock_timeout = {milliseconds}", cancellationToken).ConfigureAwait(false);
            _lockTimeoutSet = true;
        }
    }

    public override IRowReadTracker? TrackReads(DbDataReader reader, string sql)
    {
        if (!validateReads)
        {
            return null;
        }

        var tables = backend.ReadShapes.Of((NpgsqlDataReader)reader, sql);
        return tables.Length == 0 ? null : new PostgresReadTracker(tables, _reads);
    }

    /// <summary>
    /// First-updater-wins (40001), a deadlock PostgreSQL found (40P01) and a lock wait bounded
    /// because the transaction spans several backends (55P03): the transaction lost a conflict.
    /// </summary>
    public override KhonsuException? AsSerializationFailure(DbException error)
        => error is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.LockNotAvailable } postgres
            ? KhonsuException.SerializationFailure(
                $"Transaction {TransactionId}, PostgreSQL backend '{Name}': {postgres.MessageText} (SQLSTATE {postgres.SqlState}). Retry the transaction.", TransactionId, postgres)
            : null;

    public override IEnumerable<ItemId> RowReads => _reads.Items(Name);

    public override ValueTask ValidateReadsAsync(TransactionId transactionId, CancellationToken cancellationToken)
        => _reads.ValidateAsync(connection, Name, transactionId, cancellationToken);

    /// <summary>The only participant: validated and its writes reported, then a plain COMMIT is the commit point.</summary>
    public override async ValueTask<ParticipantVote> PrepareOnePhaseAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        var (wrote, writes) = await ReadWritesAsync(transactionId, cancellationToken).ConfigureAwait(false);
        if (validateReads && wrote)
        {
            await _reads.ValidateAsync(connection, Name, transactionId, cancellationToken).ConfigureAwait(false);
        }

        _state = wrote ? State.OnePhase : State.ReadOnlyPrepared;
        return new ParticipantVote(Name, NeedsRedo: false, writes, ReadOnly: !wrote);
    }

    public override async ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        var (wrote, writes) = await ReadWritesAsync(transactionId, cancellationToken).ConfigureAwait(false);
        if (!wrote)
        {
            _state = State.ReadOnlyPrepared;
            return new ParticipantVote(Name, NeedsRedo: false, [], ReadOnly: true);
        }

        if (validateReads)
        {
            await _reads.ValidateAsync(connection, Name, transactionId, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // The applied-marker commits with the writes, so recovery can tell "committed" from "rolled back".
            await InnerCommands.ExecuteAsync(
                connection,
                null,
                $"INSERT INTO {Schema}.applied (tx_id) VALUES (@id); PREPARE TRANSACTION {Literal(Gid(transactionId))}",
                cancellationToken,
                ("id", transactionId.ToString())).ConfigureAwait(false);
        }
        catch (PostgresException error) when (AsSerializationFailure(error) is { } conflict)
        {
            // At PostgreSQL's SERIALIZABLE, PREPARE TRANSACTION is where its own SSI may refuse.
            throw conflict;
        }
        catch (PostgresException error) when (error.SqlState == PostgresErrorCodes.ObjectNotInPrerequisiteState)
        {
            throw new KhonsuException(
                $"PostgreSQL backend '{Name}' cannot prepare transactions: set max_prepared_transactions above 0 in postgresql.conf (Khonsu needs it for two-phase commit).", error);
        }

        _state = State.Prepared;
        return new ParticipantVote(Name, NeedsRedo: false, writes);
    }

    public override async ValueTask CommitAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        var sql = _state == State.Prepared ? $"COMMIT PREPARED {Literal(Gid(transactionId))}" : "COMMIT";
        await InnerCommands.ExecuteAsync(connection, null, sql, cancellationToken).ConfigureAwait(false);
        _state = State.Finished;
    }

    public override async ValueTask RollbackAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        if (_state == State.Finished)
        {
            return;
        }

        var sql = _state == State.Prepared ? $"ROLLBACK PREPARED {Literal(Gid(transactionId))}" : "ROLLBACK";
        _state = State.Finished;
        await InnerCommands.ExecuteAsync(connection, null, sql, cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask AbandonAsync(CancellationToken cancellationToken)
    {
        if (_state != State.Prepared)
        {
            await RollbackAsync(TransactionId, cancellationToken).ConfigureAwait(false);
        }

        // A prepared transaction lives on in the server; recovery finishes it from the log.
        _state = State.Finished;
    }

    /// <summary>Whether the transaction wrote anything at all, and the tracked rows it changed (taken out of the capture table).</summary>
    private async ValueTask<(bool Wrote, IReadOnlyList<RowWrite> Writes)> ReadWritesAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        var command = InnerCommands.Create(
            connection,
            null,
            $"SELECT pg_current_xact_id_if_assigned() IS NOT NULL; DELETE FROM {Schema}.capture WHERE tx_id = @id RETURNING tbl, key::text, first_op, last_op, old_version, new_version",
            ("id", transactionId.ToString()));
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
                    var write = Describe(reader);
                    if (write is not null)
                    {
                        writes.Add(write);
                    }
                }

                return (wrote, writes);
            }
        }
    }

    private static RowWrite? Describe(DbDataReader reader)
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
        return kind is null ? null : new RowWrite(reader.GetString(0), KeyText(reader.GetString(1)), kind.Value, oldVersion, kind == WriteKind.Delete ? null : newVersion);
    }

    private static string KeyText(string keyJson) => RowKey.Format(CapturedKey.Parse(keyJson));
}
