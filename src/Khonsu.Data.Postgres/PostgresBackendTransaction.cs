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
/// is not prepared: it has nothing to make durable. A statement whose conflict the Replace policy
/// resolves runs again on a branch: a second local transaction at READ COMMITTED on its own
/// connection (PostgreSQL then writes over the newest committed row), prepared as
/// "khonsu:&lt;tx id&gt;/r" and decided together with this one.
/// </summary>
/// <param name="validateReads">Serializable: rows read are tracked and must be unchanged at prepare. Snapshot: write-write conflicts only.</param>
internal sealed class PostgresBackendTransaction(PostgresBackend backend, NpgsqlConnection connection, TransactionId transactionId, bool validateReads)
    : BackendTransaction(backend, connection, transactionId)
{
    private State _state = State.Active;
    private bool _lockTimeoutSet;
    private readonly PostgresReadSet _reads = new();
    private NpgsqlConnection? _branch;
    private bool _branchPrepared;
    private readonly List<string> _branchSavepoints = [];

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
        return tables.Length == 0 ? null : new KeyedRowTracker(tables, _reads.Add);
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
    /// Alone, the participant still holds two local transactions once it has a branch: they commit
    /// in two phases, with a log record for recovery, never one after the other unlogged.
    /// </summary>
    public override bool CanCommitInOnePhase => _branch is null;

    /// <summary>
    /// Opens the branch on first use: READ COMMITTED re-reads the newest row version after a lock
    /// wait, so the write lands over what the concurrent transaction committed. Its lock waits are
    /// always bounded: a branch waiting on a row lock of its own main transaction would wait forever.
    /// </summary>
    public override async ValueTask<DbCommand?> CreateBranchCommandAsync(CancellationToken cancellationToken)
    {
        if (_branch is null)
        {
            var branch = (NpgsqlConnection)backend.CreateConnection();
            try
            {
                await backend.OpenConnectionAsync(branch, cancellationToken).ConfigureAwait(false);
                var milliseconds = (long)backend.Options.LockTimeout.TotalMilliseconds;
                await InnerCommands.ExecuteAsync(
                    branch,
                    null,
                    $"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT set_config('khonsu.tx_id', @id, true); SET LOCAL lock_timeout = {milliseconds}",
                    cancellationToken,
                    ("id", TransactionId + BranchSuffix)).ConfigureAwait(false);
            }
            catch
            {
                await branch.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            _branch = branch;
        }

        return _branch.CreateCommand();
    }

    /// <summary>The application's savepoints cover the branch too: it began after them, or holds them as well.</summary>
    public override async ValueTask SaveAsync(string savepoint, CancellationToken cancellationToken)
    {
        await base.SaveAsync(savepoint, cancellationToken).ConfigureAwait(false);
        if (_branch is not null)
        {
            await InnerCommands.ExecuteAsync(_branch, null, "SAVEPOINT " + Quote(savepoint), cancellationToken).ConfigureAwait(false);
            _branchSavepoints.Add(savepoint);
        }
    }

    /// <summary>Back to the savepoint on the branch too, or, when the branch began after it, the whole branch undone (a later Replace opens a new one).</summary>
    public override async ValueTask RollbackToAsync(string savepoint, CancellationToken cancellationToken)
    {
        await base.RollbackToAsync(savepoint, cancellationToken).ConfigureAwait(false);
        if (_branch is null)
        {
            return;
        }

        var index = _branchSavepoints.LastIndexOf(savepoint);
        if (index < 0)
        {
            await FinishBranchAsync("ROLLBACK", cancellationToken).ConfigureAwait(false);
            return;
        }

        await InnerCommands.ExecuteAsync(_branch, null, "ROLLBACK TO SAVEPOINT " + Quote(savepoint), cancellationToken).ConfigureAwait(false);
        _branchSavepoints.RemoveRange(index + 1, _branchSavepoints.Count - index - 1);
    }

    public override async ValueTask ReleaseAsync(string savepoint, CancellationToken cancellationToken)
    {
        await base.ReleaseAsync(savepoint, cancellationToken).ConfigureAwait(false);
        var index = _branchSavepoints.LastIndexOf(savepoint);
        if (_branch is not null && index >= 0)
        {
            await InnerCommands.ExecuteAsync(_branch, null, "RELEASE SAVEPOINT " + Quote(savepoint), cancellationToken).ConfigureAwait(false);
            _branchSavepoints.RemoveRange(index, _branchSavepoints.Count - index);
        }
    }

    public override IEnumerable<ItemId> RowReads => _reads.Items(Name);

    public override ValueTask ValidateReadsAsync(TransactionId transactionId, CancellationToken cancellationToken)
        => _reads.ValidateAsync(connection, Name, transactionId, cancellationToken);

    /// <summary>The only participant: validated and its writes reported, then a plain COMMIT is the commit point.</summary>
    public override async ValueTask<ParticipantVote> PrepareOnePhaseAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        var (wrote, writes) = await ReadWritesAsync(connection, transactionId.ToString(), cancellationToken).ConfigureAwait(false);
        if (validateReads && wrote)
        {
            await _reads.ValidateAsync(connection, Name, transactionId, cancellationToken).ConfigureAwait(false);
        }

        _state = wrote ? State.OnePhase : State.ReadOnlyPrepared;
        return new ParticipantVote(Name, NeedsRedo: false, writes, ReadOnly: !wrote);
    }

    public override async ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        var (wrote, writes) = await ReadWritesAsync(connection, transactionId.ToString(), cancellationToken).ConfigureAwait(false);
        var (branchWrote, branchWrites) = _branch is null ? (false, []) : await ReadWritesAsync(_branch, transactionId + BranchSuffix, cancellationToken).ConfigureAwait(false);
        if (!wrote && !branchWrote)
        {
            _state = State.ReadOnlyPrepared;
            return new ParticipantVote(Name, NeedsRedo: false, [], ReadOnly: true);
        }

        if (validateReads)
        {
            await _reads.ValidateAsync(connection, Name, transactionId, cancellationToken).ConfigureAwait(false);
        }

        if (branchWrote)
        {
            // Prepared first: a crash before the main one prepares leaves only the branch, which
            // recovery rolls back (no commit record) like any transaction that did not finish preparing.
            await PrepareLocalAsync(_branch!, transactionId + BranchSuffix, BranchGid(transactionId), cancellationToken).ConfigureAwait(false);
            _branchPrepared = true;
        }

        if (!wrote)
        {
            _state = State.ReadOnlyPrepared;
            return new ParticipantVote(Name, NeedsRedo: false, [.. branchWrites.Select(w => w with { LastWriterWins = true })]);
        }

        await PrepareLocalAsync(connection, transactionId.ToString(), Gid(transactionId), cancellationToken).ConfigureAwait(false);
        _state = State.Prepared;
        return new ParticipantVote(Name, NeedsRedo: false, [.. writes, .. branchWrites.Select(w => w with { LastWriterWins = true })]);
    }

    /// <summary>PREPARE TRANSACTION with the local id's applied-marker, so recovery can tell "committed" from "rolled back".</summary>
    private async ValueTask PrepareLocalAsync(NpgsqlConnection local, string localId, string gid, CancellationToken cancellationToken)
    {
        try
        {
            await InnerCommands.ExecuteAsync(
                local,
                null,
                $"INSERT INTO {Schema}.applied (tx_id) VALUES (@id); PREPARE TRANSACTION {Literal(gid)}",
                cancellationToken,
                ("id", localId)).ConfigureAwait(false);
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

    public override async ValueTask CommitAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        var sql = _state == State.Prepared ? $"COMMIT PREPARED {Literal(Gid(transactionId))}" : "COMMIT";
        await InnerCommands.ExecuteAsync(connection, null, sql, cancellationToken).ConfigureAwait(false);
        _state = State.Finished;
        if (_branch is not null)
        {
            await FinishBranchAsync(_branchPrepared ? $"COMMIT PREPARED {Literal(BranchGid(transactionId))}" : "ROLLBACK", cancellationToken).ConfigureAwait(false);
        }
    }

    public override async ValueTask RollbackAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        if (_state == State.Finished)
        {
            return;
        }

        var sql = _state == State.Prepared ? $"ROLLBACK PREPARED {Literal(Gid(transactionId))}" : "ROLLBACK";
        _state = State.Finished;
        try
        {
            await InnerCommands.ExecuteAsync(connection, null, sql, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_branch is not null)
            {
                await FinishBranchAsync(_branchPrepared ? $"ROLLBACK PREPARED {Literal(BranchGid(transactionId))}" : "ROLLBACK", cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override async ValueTask AbandonAsync(CancellationToken cancellationToken)
    {
        // A prepared transaction lives on in the server; recovery finishes it (and its branch) from the log.
        if (_state is not (State.Prepared or State.Finished))
        {
            _state = State.Finished;
            await InnerCommands.ExecuteAsync(connection, null, "ROLLBACK", cancellationToken).ConfigureAwait(false);
        }

        _state = State.Finished;
        if (_branch is not null)
        {
            await FinishBranchAsync(_branchPrepared ? null : "ROLLBACK", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Decides the branch (a prepared one from its own session too) and closes its connection.</summary>
    private async ValueTask FinishBranchAsync(string? sql, CancellationToken cancellationToken)
    {
        var branch = _branch!;
        _branch = null;
        _branchSavepoints.Clear();
        await using (branch.ConfigureAwait(false))
        {
            if (sql is not null)
            {
                await InnerCommands.ExecuteAsync(branch, null, sql, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether a local transaction wrote anything at all, and the tracked rows it changed (taken out of the capture table).</summary>
    private static async ValueTask<(bool Wrote, IReadOnlyList<RowWrite> Writes)> ReadWritesAsync(NpgsqlConnection connection, string localId, CancellationToken cancellationToken)
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
