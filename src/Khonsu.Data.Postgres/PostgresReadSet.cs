using System.Text;
using Khonsu.Data.Backends;
using Khonsu.Data.Execution;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// The rows a transaction read on PostgreSQL, and their validation: SELECT ... FOR SHARE in the
/// transaction's REPEATABLE READ snapshot fails with a serialization error if any of them was
/// updated or deleted since the snapshot, and the share locks keep them so until the end. A row
/// that a concurrent writer holds is a conflict at once (NOWAIT): that writer is about to change
/// what was read, and waiting for it deadlocks whenever it validates a row this transaction wrote
/// (PostgreSQL would break that only after deadlock_timeout, a second).
/// <para>
/// A changed or held row does not refuse the transaction here: one such row is an
/// rw-antidependency to its writer, which serializes after this transaction unless a cycle closes.
/// The rows are validated again one by one to learn which changed (<see cref="Stale"/>), and the
/// certifier, which knows the Khonsu transactions that wrote them, decides (see
/// <see cref="BackendTransaction.StaleReads"/>).
/// </para>
/// </summary>
internal sealed class PostgresReadSet
{
    private const int KeysPerStatement = 500;
    private const string RowSavepoint = "khonsu_validation_row";
    private readonly RowsRead _read = new();

    public int Count => _read.Count;

    public void Add(TableInfo table, object[] keyValues) => _read.Add(table, keyValues);

    public IEnumerable<ItemId> Items(string participant) => _read.Items(participant);

    /// <summary>The rows the last validation found changed since the snapshot, or held by an unfinished writer.</summary>
    public IReadOnlyCollection<ItemId> Stale(string participant) => _read.Stale(participant);

    /// <summary>Validates the reads now, in one round trip when none changed (see <see cref="Validation"/>).</summary>
    public async ValueTask ValidateAsync(NpgsqlConnection connection, string participant, TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        var validation = Validation(participant, transactionId, onlyIfWrote: false);
        if (validation.Results == 0)
        {
            return;
        }

        var batch = new NpgsqlBatch(connection);
        try
        {
            validation.AddTo(batch);
            await validation.RunAsync(batch, async, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await SyncOrAsync.DisposeAsync(batch, async).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The statements that validate the reads, for a batch of the caller's (500 rows per statement).
    /// <paramref name="onlyIfWrote"/>: they lock and check nothing unless the local transaction has
    /// written by the time they run (a one-time filter on pg_current_xact_id_if_assigned()): a
    /// transaction that wrote nothing commits at its snapshot, where its reads are current.
    /// </summary>
    public PostgresValidation Validation(string participant, TransactionId transactionId, bool onlyIfWrote)
    {
        _read.ClearStale();
        if (_read.Count == 0)
        {
            return PostgresValidation.None;
        }

        var locks = new List<NpgsqlBatchCommand>();
        foreach (var byTable in _read.Rows.GroupBy(r => r.Key.Table))
        {
            foreach (var chunk in byTable.Chunk(KeysPerStatement))
            {
                locks.Add(LockRows(byTable.Key, [.. chunk.Select(r => r.Value)], onlyIfWrote));
            }
        }

        // PostgreSQL's own SSI names no row: the refusal names the first table read.
        var table = _read.Rows.Keys.First().Table.Name;
        return new PostgresValidation(this, locks, onlyIfWrote, error => new SerializationConflictException(
            participant,
            table,
            null,
            $"PostgreSQL refused the rows that transaction {transactionId} read on backend '{participant}': {error.MessageText}",
            error));
    }

    /// <summary>
    /// After a validation statement failed (and its savepoint was rolled back): locks each row again
    /// in a savepoint of its own, in as many round trips as rows fail plus one, and records as stale
    /// the rows that were changed since the snapshot or are held by a writer that has not finished.
    /// The others keep their share locks, as a validation that passed leaves them. A row held by a
    /// transaction Khonsu prepared (the old version's xmax is its xid in pg_prepared_xacts) is not
    /// stale: that writer is certified before it commits, either after this transaction (and then
    /// finds it as a reader of what it writes) or before (and then explains the change).
    /// </summary>
    public async ValueTask FindChangedRowsAsync(NpgsqlConnection connection, bool onlyIfWrote, Func<PostgresException, Exception> refusal, bool async, CancellationToken cancellationToken)
    {
        var pending = _read.Rows.ToList();
        var failed = new List<(KeyValuePair<(TableInfo Table, string Key), object[]> Row, bool Held)>();
        while (pending.Count > 0)
        {
            var batch = new NpgsqlBatch(connection);
            try
            {
                if (failed.Count > 0)
                {
                    batch.BatchCommands.Add(new NpgsqlBatchCommand($"ROLLBACK TO SAVEPOINT {RowSavepoint}"));
                    batch.BatchCommands.Add(new NpgsqlBatchCommand($"RELEASE SAVEPOINT {RowSavepoint}"));
                }

                foreach (var row in pending)
                {
                    batch.BatchCommands.Add(new NpgsqlBatchCommand($"SAVEPOINT {RowSavepoint}"));
                    batch.BatchCommands.Add(LockRows(row.Key.Table, [row.Value], onlyIfWrote));
                    batch.BatchCommands.Add(new NpgsqlBatchCommand($"RELEASE SAVEPOINT {RowSavepoint}"));
                }

                // Each lock statement gives one result (the savepoints give none), so the results
                // reached before the error tell which row failed.
                var reached = 0;
                try
                {
                    var reader = await SyncOrAsync.ExecuteReaderAsync(batch, async, cancellationToken).ConfigureAwait(false);
                    try
                    {
                        reached = 1;
                        while (await SyncOrAsync.NextResultAsync(reader, async, cancellationToken).ConfigureAwait(false))
                        {
                            reached++;
                        }
                    }
                    finally
                    {
                        await SyncOrAsync.DisposeAsync(reader, async).ConfigureAwait(false);
                    }

                    break;
                }
                catch (PostgresException error) when (PostgresValidation.IsRowConflict(error))
                {
                    failed.Add((pending[reached], error.SqlState == PostgresErrorCodes.LockNotAvailable));
                    pending = pending.GetRange(reached + 1, pending.Count - reached - 1);
                    if (pending.Count == 0)
                    {
                        await InnerCommands.ExecuteAsync(connection, null, $"ROLLBACK TO SAVEPOINT {RowSavepoint}; RELEASE SAVEPOINT {RowSavepoint}", async, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (PostgresException error) when (error.SqlState == PostgresErrorCodes.SerializationFailure)
                {
                    throw refusal(error);
                }
            }
            finally
            {
                await SyncOrAsync.DisposeAsync(batch, async).ConfigureAwait(false);
            }
        }

        var heldByKhonsu = await HeldByPreparedKhonsuAsync(connection, [.. failed.Where(f => f.Held).Select(f => f.Row)], async, cancellationToken).ConfigureAwait(false);
        foreach (var row in failed.Select(f => f.Row.Key).Where(row => !heldByKhonsu.Contains(row)))
        {
            _read.MarkStale(row);
        }
    }

    /// <summary>Which of <paramref name="rows"/> (held, 55P03) a transaction Khonsu prepared holds, in one round trip.</summary>
    private static async ValueTask<HashSet<(TableInfo Table, string Key)>> HeldByPreparedKhonsuAsync(
        NpgsqlConnection connection, IReadOnlyList<KeyValuePair<(TableInfo Table, string Key), object[]>> rows, bool async, CancellationToken cancellationToken)
    {
        var held = new HashSet<(TableInfo Table, string Key)>();
        if (rows.Count == 0)
        {
            return held;
        }

        var batch = new NpgsqlBatch(connection);
        try
        {
            foreach (var row in rows)
            {
                var command = new NpgsqlBatchCommand();
                var condition = KeyCondition(row.Key.Table, [row.Value], command);
                command.CommandText = $"SELECT EXISTS (SELECT 1 FROM {Qualified(row.Key.Table.Schema, row.Key.Table.Name)} AS r JOIN pg_prepared_xacts AS p ON p.transaction = r.xmax WHERE {condition} AND starts_with(p.gid, {Literal(GidPrefix)}))";
                batch.BatchCommands.Add(command);
            }

            var reader = await SyncOrAsync.ExecuteReaderAsync(batch, async, cancellationToken).ConfigureAwait(false);
            try
            {
                var index = 0;
                do
                {
                    if (await SyncOrAsync.ReadAsync(reader, async, cancellationToken).ConfigureAwait(false) && reader.GetBoolean(0))
                    {
                        held.Add(rows[index].Key);
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
        finally
        {
            await SyncOrAsync.DisposeAsync(batch, async).ConfigureAwait(false);
        }

        return held;
    }

    /// <summary><c>(key columns) IN ((@k0, ...), ...)</c> for <paramref name="keys"/>, their values added to <paramref name="command"/>.</summary>
    private static string KeyCondition(TableInfo table, IEnumerable<object[]> keys, NpgsqlBatchCommand command)
    {
        var tuples = new StringBuilder();
        foreach (var key in keys)
        {
            tuples.Append(tuples.Length == 0 ? "(" : ", (");
            for (var i = 0; i < key.Length; i++)
            {
                var name = "k" + command.Parameters.Count;
                command.Parameters.AddWithValue(name, key[i] ?? DBNull.Value);
                tuples.Append(i == 0 ? "@" : ", @").Append(name);
            }

            tuples.Append(')');
        }

        return $"({string.Join(", ", table.KeyColumns.Select(Quote))}) IN ({tuples})";
    }

    private static NpgsqlBatchCommand LockRows(TableInfo table, IReadOnlyList<object[]> keys, bool onlyIfWrote)
    {
        var command = new NpgsqlBatchCommand();
        var condition = onlyIfWrote ? "pg_current_xact_id_if_assigned() IS NOT NULL AND " : "";
        command.CommandText = $"SELECT 1 FROM {Qualified(table.Schema, table.Name)} WHERE {condition}{KeyCondition(table, keys, command)} FOR SHARE NOWAIT";
        return command;
    }
}
