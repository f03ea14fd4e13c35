using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// The second local transaction of a PostgreSQL participant, for statements whose write-write
/// conflict the Replace policy resolves: READ COMMITTED on a connection of its own, so PostgreSQL
/// re-reads the newest row version after a lock wait and the write lands over what the concurrent
/// transaction committed. Its local id and gid are the participant's with "/r", so recovery finds
/// it and decides it together with the main one.
/// </summary>
internal sealed class PostgresReplaceBranch
{
    private readonly NpgsqlConnection _connection;
    private readonly TransactionId _transactionId;

    // Its gid: the participant's, marked with the governing log's tag, and "/r".
    private readonly string _gid;
    private readonly List<string> _savepoints = [];
    private readonly string _backendName;

    private PostgresReplaceBranch(NpgsqlConnection connection, TransactionId transactionId, string gid, string backendName)
    {
        _connection = connection;
        _backendName = backendName;
        _transactionId = transactionId;
        _gid = gid;
    }

    /// <summary>Prepared: from now on only COMMIT PREPARED or ROLLBACK PREPARED (or recovery) ends it.</summary>
    public bool Prepared { get; private set; }

    private string LocalId => _transactionId + BranchSuffix;

    /// <summary>
    /// Its lock waits are always bounded: a branch waiting on a row lock of its own main
    /// transaction would wait forever.
    /// </summary>
    public static async ValueTask<PostgresReplaceBranch> OpenAsync(PostgresBackend backend, TransactionId transactionId, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)backend.CreateConnection();
        try
        {
            await backend.OpenConnectionAsync(connection, async: true, cancellationToken).ConfigureAwait(false);
            var milliseconds = (long)backend.Options.LockTimeout.TotalMilliseconds;
            await InnerCommands.ExecuteAsync(
                connection,
                null,
                $"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT set_config('khonsu.tx_id', @id, true); SET LOCAL lock_timeout = {milliseconds}",
                cancellationToken,
                ("id", transactionId + BranchSuffix)).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new PostgresReplaceBranch(connection, transactionId, BranchGid(backend.GoverningLog?.Tag, transactionId), backend.Name);
    }

    public DbCommand CreateCommand() => _connection.CreateCommand();

    public async ValueTask SaveAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        await InnerCommands.ExecuteAsync(_connection, null, "SAVEPOINT " + Quote(savepoint), async, cancellationToken).ConfigureAwait(false);
        _savepoints.Add(savepoint);
    }

    /// <summary>Back to the savepoint; false when the branch began after it, so the caller must drop the whole branch.</summary>
    public async ValueTask<bool> RollbackToAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        var index = _savepoints.LastIndexOf(savepoint);
        if (index < 0)
        {
            return false;
        }

        await InnerCommands.ExecuteAsync(_connection, null, "ROLLBACK TO SAVEPOINT " + Quote(savepoint), async, cancellationToken).ConfigureAwait(false);
        _savepoints.RemoveRange(index + 1, _savepoints.Count - index - 1);
        return true;
    }

    public async ValueTask ReleaseAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        var index = _savepoints.LastIndexOf(savepoint);
        if (index >= 0)
        {
            await InnerCommands.ExecuteAsync(_connection, null, "RELEASE SAVEPOINT " + Quote(savepoint), async, cancellationToken).ConfigureAwait(false);
            _savepoints.RemoveRange(index, _savepoints.Count - index);
        }
    }

    /// <summary>Its writes, each marked last-writer-wins: they landed on the newest row, so certifiers exempt them from write-write conflicts.</summary>
    public async ValueTask<(bool Wrote, IReadOnlyList<RowWrite> Writes)> ReadWritesAsync(bool async, CancellationToken cancellationToken)
    {
        var (wrote, writes) = await PostgresCapturedWrites.ReadAsync(_connection, LocalId, PostgresValidation.None, _backendName, async, cancellationToken).ConfigureAwait(false);
        return (wrote, [.. writes.Select(w => w with { LastWriterWins = true })]);
    }

    /// <summary>Prepares it with <paramref name="prepare"/> (the participant's PREPARE TRANSACTION and its error mapping).</summary>
    public async ValueTask PrepareAsync(Func<NpgsqlConnection, string, string, ValueTask> prepare)
    {
        await prepare(_connection, LocalId, _gid).ConfigureAwait(false);
        Prepared = true;
    }

    /// <summary>Commits (or rolls back) as the main transaction was decided, then closes its connection.</summary>
    public ValueTask CommitAsync(bool async, CancellationToken cancellationToken)
        => FinishAsync(Prepared ? $"COMMIT PREPARED {Literal(_gid)}" : "ROLLBACK", async, cancellationToken);

    public ValueTask RollbackAsync(bool async, CancellationToken cancellationToken)
        => FinishAsync(Prepared ? $"ROLLBACK PREPARED {Literal(_gid)}" : "ROLLBACK", async, cancellationToken);

    /// <summary>Leaves a prepared branch to recovery; rolls back one that is not.</summary>
    public ValueTask AbandonAsync(bool async, CancellationToken cancellationToken) => FinishAsync(Prepared ? null : "ROLLBACK", async, cancellationToken);

    private async ValueTask FinishAsync(string? sql, bool async, CancellationToken cancellationToken)
    {
        try
        {
            if (sql is not null)
            {
                await InnerCommands.ExecuteAsync(_connection, null, sql, async, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await Execution.SyncOrAsync.DisposeAsync(_connection, async).ConfigureAwait(false);
        }
    }
}
