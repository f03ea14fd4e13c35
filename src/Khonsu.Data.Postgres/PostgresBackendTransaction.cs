using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Execution;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// A PostgreSQL local transaction as a participant: PREPARE TRANSACTION makes it durable but
/// undecided; COMMIT PREPARED or ROLLBACK PREPARED finishes it. A transaction that wrote nothing
/// is not prepared: it has nothing to make durable. A statement whose conflict the Replace policy
/// resolves runs again on a branch: a second local transaction at READ COMMITTED on its own
/// connection (PostgreSQL then writes over the newest committed row), prepared as
/// "khonsu:&lt;tx id&gt;/r" and decided together with this one.
/// </summary>
/// <param name="validateReads">Serializable: rows read are tracked and must be unchanged at prepare. Snapshot: write-write conflicts only.</param>
/// <remarks>
/// It begins as an Npgsql transaction, whose BEGIN goes with the first statement; PREPARE, COMMIT
/// and ROLLBACK run as SQL (Npgsql follows the server's transaction state).
/// </remarks>
internal sealed class PostgresBackendTransaction(PostgresBackend backend, NpgsqlConnection connection, TransactionId transactionId, bool validateReads)
    : BackendTransaction(backend, connection, transactionId)
{
    private State _state = State.Active;
    private bool _snapshotStarting;
    private TimeSpan? _lockTimeout;
    private readonly PostgresReadSet _reads = new();
    private PostgresReplaceBranch? _branch;

    // Marked with the governing log's tag, so that only that log's recovery settles it.
    private readonly string _gid = Gid(backend.GoverningLog?.Tag, transactionId);

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
    /// Before anything is sent on the transaction: the first statement carries the BEGIN and takes
    /// the snapshot, so the transaction's snapshot position is taken now, not later than that.
    /// </summary>
    private void SnapshotStarting()
    {
        if (!_snapshotStarting)
        {
            _snapshotStarting = true;
            Context?.SnapshotStarting();
        }
    }

    /// <summary>A safe snapshot is taken on every backend at once: a statement takes it here.</summary>
    public override async ValueTask TakeSnapshotAsync(CancellationToken cancellationToken)
    {
        SnapshotStarting();
        await InnerCommands.ExecuteAsync(connection, null, "SELECT 1", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Once the transaction spans several backends, PostgreSQL's own deadlock detector cannot see
    /// every wait: bound lock waits so a cross-database deadlock ends in an error, not a hang. The
    /// bound is the transaction's <see cref="ParticipantContext.HiddenLockWait"/>, longer for the
    /// process's oldest transaction, so the younger side of a deadlock gives up first; it is set
    /// again when the transaction becomes the oldest.
    /// </summary>
    public override async ValueTask BeforeStatementAsync(DbCommand command, bool spansSeveralBackends, bool async, CancellationToken cancellationToken)
    {
        SnapshotStarting();
        if (!spansSeveralBackends)
        {
            return;
        }

        if ((Context?.HiddenLockWait ?? backend.Options.LockTimeout) is var wait && wait != _lockTimeout)
        {
            var milliseconds = Math.Max(1, (long)wait.TotalMilliseconds);
            await InnerCommands.ExecuteAsync(connection, null, $"SET LOCAL lock_timeout = {milliseconds}", async, cancellationToken).ConfigureAwait(false);
            _lockTimeout = wait;
        }

        Context?.HiddenWaitBegins();
    }

    /// <summary>Row locks its writes (and validation's FOR SHARE) take are waited on inside PostgreSQL, where Khonsu cannot see.</summary>
    public override bool MayHoldHiddenLocks => _state != State.Finished;

    public override IRowReadTracker? TrackReads(DbDataReader reader, string sql)
    {
        if (!validateReads)
        {
            return null;
        }

        var tables = backend.ReadShapes.Of((NpgsqlDataReader)reader, sql);
        return tables.Length == 0 ? null : new KeyedRowTracker(tables, _reads.Add);
    }

    /// <summary>From the statement's generic plan, in a savepoint of this transaction (see <see cref="PostgresStatementReads"/>).</summary>
    public override ValueTask<StatementReads?> ParseReadsAsync(DbCommand command, bool namesUnknownRelations, bool writes, CancellationToken cancellationToken)
    {
        SnapshotStarting();
        return backend.ReadProbe.ProbeAsync(connection, (NpgsqlCommand)command, namesUnknownRelations, writes, cancellationToken);
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

    /// <summary>
    /// A concurrent update or delete met on a row the statement writes or locks: reported by the
    /// executor (ExecUpdate, ExecDelete, ExecLockRows...) or, on tables with a BEFORE ROW trigger as
    /// Khonsu's version trigger is, by GetTupleForTrigger. Not PostgreSQL's own SSI (predicate.c),
    /// whose 40001 is a read-write conflict no write policy applies to.
    /// </summary>
    public override bool IsWriteConflict(DbException error)
        => error is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure, Routine: { } routine }
            && (routine.StartsWith("Exec", StringComparison.Ordinal) || routine == "GetTupleForTrigger");

    /// <summary>
    /// A unique violation (23505) on the primary key of a table whose key PostgreSQL generates; the
    /// error names the constraint, schema and table even when its detail (the key) is hidden.
    /// </summary>
    public override bool IsDuplicateGeneratedKey(DbException error)
        => error is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: { } constraint, TableName: { } table } postgres
            && backend.GeneratedKeyConstraintOf(postgres.SchemaName, table) == constraint;

    /// <summary>Sets the append trigger's switch for the rest of the transaction (or the enclosing savepoint).</summary>
    public override async ValueTask GenerateKeysAsync(bool on, CancellationToken cancellationToken)
    {
        SnapshotStarting();
        await InnerCommands.ExecuteAsync(
            connection, null, $"SELECT set_config('{PostgresSchemaInstaller.AppendSetting}', '{(on ? "on" : "off")}', true)", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Alone, the participant still holds two local transactions once it has a branch: they commit
    /// in two phases, with a log record for recovery, never one after the other unlogged.
    /// </summary>
    public override bool CanCommitInOnePhase => _branch is null;

    /// <summary>Opens the branch (see <see cref="PostgresReplaceBranch"/>) on first use.</summary>
    public override async ValueTask<DbCommand?> CreateBranchCommandAsync(CancellationToken cancellationToken)
    {
        _branch ??= await PostgresReplaceBranch.OpenAsync(backend, TransactionId, cancellationToken).ConfigureAwait(false);
        return _branch.CreateCommand();
    }

    /// <summary>The application's savepoints cover the branch too: it began after them, or holds them as well.</summary>
    public override async ValueTask SaveAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        SnapshotStarting();
        await base.SaveAsync(savepoint, async, cancellationToken).ConfigureAwait(false);
        if (_branch is not null)
        {
            await _branch.SaveAsync(savepoint, async, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Back to the savepoint on the branch too, or, when the branch began after it, the whole branch undone (a later Replace opens a new one).</summary>
    public override async ValueTask RollbackToAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        await base.RollbackToAsync(savepoint, async, cancellationToken).ConfigureAwait(false);
        if (_branch is not null && !await _branch.RollbackToAsync(savepoint, async, cancellationToken).ConfigureAwait(false))
        {
            await EndBranchAsync(branch => branch.RollbackAsync(async, cancellationToken)).ConfigureAwait(false);
        }
    }

    public override async ValueTask ReleaseAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        await base.ReleaseAsync(savepoint, async, cancellationToken).ConfigureAwait(false);
        if (_branch is not null)
        {
            await _branch.ReleaseAsync(savepoint, async, cancellationToken).ConfigureAwait(false);
        }
    }

    public override IEnumerable<ItemId> RowReads => _reads.Items(Name);

    /// <summary>Rows read that its validation found changed or held (see <see cref="PostgresReadSet"/>): the certifier decides.</summary>
    public override IReadOnlyCollection<ItemId> StaleReads => _reads.Stale(Name);

    public override ValueTask ValidateReadsAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        SnapshotStarting();
        return _reads.ValidateAsync(connection, Name, transactionId, async, cancellationToken);
    }

    /// <summary>
    /// The only participant: its writes reported and, if it wrote, its reads validated, in one round
    /// trip; then a plain COMMIT is the commit point.
    /// </summary>
    public override async ValueTask<ParticipantVote> PrepareOnePhaseAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        SnapshotStarting();
        var (wrote, writes) = await PostgresCapturedWrites.ReadAsync(connection, null, ReadValidations(transactionId, onlyIfWrote: true), Name, async, cancellationToken).ConfigureAwait(false);
        _state = wrote ? State.OnePhase : State.ReadOnlyPrepared;
        return new ParticipantVote(Name, NeedsRedo: false, writes, ReadOnly: !wrote);
    }

    /// <summary>
    /// Its writes and its branch's reported and, if either wrote, its reads validated (in the
    /// round trip that reads its writes), then PREPARE TRANSACTION. When a statement that writes
    /// ran in it and it has no branch, PREPARE goes in that same round trip: it is prepared even if
    /// it changed nothing (its applied-marker is a write), and votes as a writer whose reads were
    /// validated.
    /// </summary>
    public override async ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        SnapshotStarting();
        if (RanWrites && _branch is null)
        {
            var (_, written) = await PrepareMapped(() => PostgresCapturedWrites.ReadAsync(
                connection, null, ReadValidations(transactionId, onlyIfWrote: false), Name, async, cancellationToken, PrepareCommands(transactionId.ToString(), _gid))).ConfigureAwait(false);
            _state = State.Prepared;
            return new ParticipantVote(Name, NeedsRedo: false, written);
        }

        var (branchWrote, branchWrites) = _branch is null ? (false, []) : await _branch.ReadWritesAsync(async, cancellationToken).ConfigureAwait(false);
        var (wrote, writes) = await PostgresCapturedWrites.ReadAsync(connection, null, ReadValidations(transactionId, onlyIfWrote: !branchWrote), Name, async, cancellationToken).ConfigureAwait(false);
        if (!wrote && !branchWrote)
        {
            _state = State.ReadOnlyPrepared;
            return new ParticipantVote(Name, NeedsRedo: false, [], ReadOnly: true);
        }

        if (branchWrote)
        {
            // Prepared first: a crash before the main one prepares leaves only the branch, which
            // recovery rolls back (no commit record) like any transaction that did not finish preparing.
            await _branch!.PrepareAsync((local, localId, gid) => PrepareLocalAsync(local, localId, gid, async, cancellationToken)).ConfigureAwait(false);
        }

        if (!wrote)
        {
            _state = State.ReadOnlyPrepared;
            return new ParticipantVote(Name, NeedsRedo: false, branchWrites);
        }

        await PrepareLocalAsync(connection, transactionId.ToString(), _gid, async, cancellationToken).ConfigureAwait(false);
        _state = State.Prepared;
        return new ParticipantVote(Name, NeedsRedo: false, [.. writes, .. branchWrites]);
    }

    private PostgresValidation ReadValidations(TransactionId transactionId, bool onlyIfWrote)
        => validateReads ? _reads.Validation(Name, transactionId, onlyIfWrote) : PostgresValidation.None;

    /// <summary>PREPARE TRANSACTION with the local id's applied-marker, so recovery can tell "committed" from "rolled back".</summary>
    private static NpgsqlBatchCommand[] PrepareCommands(string localId, string gid)
    {
        var marker = new NpgsqlBatchCommand($"INSERT INTO {Schema}.applied (tx_id) VALUES (@id)");
        marker.Parameters.AddWithValue("id", localId);
        return [marker, new NpgsqlBatchCommand($"PREPARE TRANSACTION {Literal(gid)}")];
    }

    private async ValueTask PrepareLocalAsync(NpgsqlConnection local, string localId, string gid, bool async, CancellationToken cancellationToken)
        => await PrepareMapped(async () =>
        {
            var batch = new NpgsqlBatch(local);
            try
            {
                foreach (var command in PrepareCommands(localId, gid))
                {
                    batch.BatchCommands.Add(command);
                }

                await SyncOrAsync.ExecuteNonQueryAsync(batch, async, cancellationToken).ConfigureAwait(false);
                return true;
            }
            finally
            {
                await SyncOrAsync.DisposeAsync(batch, async).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);

    /// <summary>Runs what sends PREPARE TRANSACTION, with its errors told as Khonsu's.</summary>
    private async ValueTask<T> PrepareMapped<T>(Func<ValueTask<T>> prepare)
    {
        try
        {
            return await prepare().ConfigureAwait(false);
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
    }

    public override async ValueTask CommitAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        var sql = _state == State.Prepared ? $"COMMIT PREPARED {Literal(_gid)}" : "COMMIT";
        try
        {
            await InnerCommands.ExecuteAsync(connection, null, sql, async, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException error) when (_state == State.OnePhase && error is not PostgresException)
        {
            // No answer from the server (the connection broke, a timeout): the COMMIT may have run.
            // An error the server sent (a PostgresException) means it did not. Nothing in the log
            // can tell, and nothing will retry it, so the caller must not retry it blindly either.
            _state = State.Finished;
            throw new Engine.Coordination.CommitOutcomeUnknownException(
                transactionId,
                $"The outcome of transaction {transactionId} on PostgreSQL backend '{Name}' is unknown: its COMMIT got no answer ({error.Message}). Check whether its writes are there before running it again.",
                error);
        }

        _state = State.Finished;
        await EndBranchAsync(branch => branch.CommitAsync(async, cancellationToken)).ConfigureAwait(false);
    }

    public override async ValueTask RollbackAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        if (_state == State.Finished)
        {
            return;
        }

        var sql = _state == State.Prepared ? $"ROLLBACK PREPARED {Literal(_gid)}" : "ROLLBACK";
        _state = State.Finished;
        try
        {
            await InnerCommands.ExecuteAsync(connection, null, sql, async, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await EndBranchAsync(branch => branch.RollbackAsync(async, cancellationToken)).ConfigureAwait(false);
        }
    }

    public override async ValueTask AbandonAsync(bool async, CancellationToken cancellationToken)
    {
        // A prepared transaction lives on in the server; recovery finishes it (and its branch) from the log.
        if (_state is not (State.Prepared or State.Finished))
        {
            _state = State.Finished;
            await InnerCommands.ExecuteAsync(connection, null, "ROLLBACK", async, cancellationToken).ConfigureAwait(false);
        }

        _state = State.Finished;
        await EndBranchAsync(branch => branch.AbandonAsync(async, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Ends the branch, if there is one, its own way; it is gone afterwards whatever happens.</summary>
    private async ValueTask EndBranchAsync(Func<PostgresReplaceBranch, ValueTask> end)
    {
        var branch = _branch;
        _branch = null;
        if (branch is not null)
        {
            await end(branch).ConfigureAwait(false);
        }
    }
}
