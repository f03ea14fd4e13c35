using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Khonsu.Data.Backends;
using Khonsu.Data.Execution;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// A SQLite local transaction as a participant. SQLite cannot prepare durably, so "prepared"
/// means: the transaction holds the database's write lock (so what it read and wrote is still
/// current) and its row images are in the commit record, to be redone if a crash loses them.
/// </summary>
internal sealed class SqliteBackendTransaction : BackendTransaction
{
    private readonly SqliteBackend _backend;
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _local;
    private readonly SqliteCaptureSession _capture;
    private const int SqliteBusySnapshot = 517;

    // Writers outside the process's queue (other processes) are waited for in busy-handler steps
    // this short, with an await between them (a pause, for a synchronous caller), so no wait
    // blocks a thread for longer.
    private const int OtherWritersBusyTimeoutMilliseconds = 10;
    private static readonly TimeSpan FirstRetryPause = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan MaxRetryPause = TimeSpan.FromMilliseconds(50);

    // How long a commit that validates SQLite reads waits in the queue (it has no command timeout of its own).
    private static readonly TimeSpan CommitQueueWait = TimeSpan.FromSeconds(30);
    private SqliteWriteQueue? _permit;
    private readonly bool _trackRows;
    private readonly RowsRead _rowsRead = new();

    // A participant that validated its row reads one by one holds the write lock here instead
    // (see ValidateRowsAsync): its own snapshot is older than the lock.
    private (SqliteConnection Connection, SqliteTransaction Transaction)? _validator;
    private bool _holdsWriteLock;
    private bool _wrote;
    private bool _hasSnapshot;
    private bool _finished;

    /// <param name="trackRows">Serializable: rows read are reported to the certifier one by one where the result carries their key.</param>
    public SqliteBackendTransaction(SqliteBackend backend, SqliteConnection connection, SqliteTransaction local, SqliteCaptureSession capture, TransactionId transactionId, bool trackRows)
        : base(backend, connection, transactionId)
    {
        _backend = backend;
        _connection = connection;
        _local = local;
        _capture = capture;
        _trackRows = trackRows;
    }

    /// <summary>
    /// Rows go to the certifier, and are validated one by one by their version when they are all
    /// the transaction read here (see <see cref="ValidateReadsAsync"/>). Finer items let a
    /// transaction commit beside one that wrote other rows of a table it read by key.
    /// </summary>
    public override IRowReadTracker? TrackReads(DbDataReader reader, string sql)
    {
        if (!_trackRows)
        {
            return null;
        }

        var tables = _backend.Catalog.ReadShapes.Of((SqliteDataReader)reader, sql);
        return tables.Length == 0 ? null : new KeyedRowTracker(tables, _rowsRead.Add);
    }

    /// <summary>SQLite's authorizer, in process: cheap enough to ask for every text (see <see cref="SqliteStatementAnalyzer.TablesRead"/>).</summary>
    public override ValueTask<StatementReads?> ParseReadsAsync(DbCommand command, bool namesUnknownRelations, bool writes, CancellationToken cancellationToken)
        => ValueTask.FromResult(_backend.StatementAnalyzer.TablesRead(_connection.Handle!, command.CommandText, _backend.Catalog.ByName));

    public override IEnumerable<ItemId> RowReads => _rowsRead.Items(Name);

    /// <summary>Rows read that their validation found changed since the snapshot (see <see cref="SqliteRowVersions"/>): the certifier decides.</summary>
    public override IReadOnlyCollection<ItemId> StaleReads => _rowsRead.Stale(Name);

    public override DbTransaction? InnerTransaction => _local;

    /// <summary>A deferred transaction's WAL snapshot starts at its first read of the main database: read its schema table.</summary>
    public override async ValueTask TakeSnapshotAsync(CancellationToken cancellationToken)
    {
        StartSnapshot();
        await InnerCommands.ScalarAsync(_connection, _local, "SELECT count(*) FROM main.sqlite_master", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes SQLite's write lock before the transaction's first write, so that a lock Khonsu cannot
    /// get fails as a serialization failure instead of inside Microsoft.Data.Sqlite's retry loop: a
    /// snapshot that another writer made stale can never write (SQLITE_BUSY_SNAPSHOT), and a
    /// transaction holding locks on other backends must not wait long (a cross-database deadlock).
    /// </summary>
    public override async ValueTask BeforeStatementAsync(DbCommand command, bool spansSeveralBackends, bool async, CancellationToken cancellationToken)
    {
        if (!_holdsWriteLock && !_backend.StatementAnalyzer.IsReadOnly(_connection.Handle!, command.CommandText))
        {
            var statementWait = TimeSpan.FromSeconds(command.CommandTimeout == 0 ? int.MaxValue / 1000 : command.CommandTimeout);
            await TakeWriteLockAsync(_connection, statementWait, "it", spansSeveralBackends, async, cancellationToken).ConfigureAwait(false);
            _holdsWriteLock = true;
        }
        else
        {
            // A read: the snapshot starts with the statement, unless an earlier one started it.
            StartSnapshot();
        }
    }

    /// <summary>The local transaction's snapshot starts now (its first read, or the write lock that starts it).</summary>
    private void StartSnapshot()
    {
        if (!_hasSnapshot)
        {
            _hasSnapshot = true;
            Context?.SnapshotStarting();
        }
    }

    /// <summary>
    /// SQLite keeps no record of who changed what since a snapshot. Where everything the
    /// transaction read here was rows read by key, each is validated by its version (see
    /// <see cref="ValidateRowsAsync"/>): a changed row is an rw-antidependency for the certifier,
    /// not a refusal. Otherwise (a predicate read, a table without a version column, an in-memory
    /// database, Snapshot isolation, which tracks no rows) reads are validated for the whole
    /// database: taking the write lock fails (SQLITE_BUSY_SNAPSHOT) if any other connection
    /// committed since this transaction's snapshot. Either way the write lock, held until the
    /// participant finishes, keeps what was read current.
    /// </summary>
    public override async ValueTask ValidateReadsAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        if (!_hasSnapshot || _holdsWriteLock || _validator is not null)
        {
            return;
        }

        if (ValidatesRowByRow)
        {
            await ValidateRowsAsync(async, cancellationToken).ConfigureAwait(false);
            return;
        }

        await TakeWriteLockAsync(_connection, CommitQueueWait, "a table it read", spansSeveralBackends: true, async, cancellationToken).ConfigureAwait(false);
        _holdsWriteLock = true;
    }

    /// <summary>
    /// Whether every read of the transaction here is a row read by key that a version validates.
    /// One that recorded no read at all (a query run with ExecuteNonQuery, say) keeps the file-level
    /// validation it always had.
    /// </summary>
    private bool ValidatesRowByRow
        => _trackRows
            && _rowsRead.Count > 0
            && !_backend.WriteQueue.File.StartsWith("memory:", StringComparison.Ordinal) // shared-cache memory: table locks, no WAL snapshots
            && Context is { ReadsWholeTables: false }
            && SqliteRowVersions.CanValidate(_rowsRead.Rows.Keys.Select(row => row.Table));

    /// <summary>
    /// This transaction's snapshot cannot take the write lock once another connection committed
    /// (SQLITE_BUSY_SNAPSHOT), and it wrote nothing here: a connection of its own takes the lock
    /// with a current snapshot, and each row read is compared, by version, between the two. The
    /// lock stays held until the participant finishes, so the unchanged rows stay current.
    /// </summary>
    private async ValueTask ValidateRowsAsync(bool async, CancellationToken cancellationToken)
    {
        var connection = (SqliteConnection)_backend.CreateConnection();
        try
        {
            if (async)
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                connection.Open();
            }

            SqliteConnectionObserver.Notify(connection);
            _validator = (connection, connection.BeginTransaction(deferred: true));
        }
        catch
        {
            await SyncOrAsync.DisposeAsync(connection, async).ConfigureAwait(false);
            throw;
        }

        await TakeWriteLockAsync(connection, CommitQueueWait, "a row it read", spansSeveralBackends: true, async, cancellationToken).ConfigureAwait(false);
        await SqliteRowVersions.FindChangedAsync((_connection, _local), _validator.Value, _rowsRead, _backend.Options.VersionColumn, async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The only participant: it holds the write lock already, so its reads are current; the
    /// captured keys go to the certifier (no row images: nothing is redone), then SQLite's own
    /// COMMIT is the commit point.
    /// </summary>
    public override ValueTask<ParticipantVote> PrepareOnePhaseAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        if (!_holdsWriteLock)
        {
            return ValueTask.FromResult(new ParticipantVote(Name, NeedsRedo: false, [], ReadOnly: true));
        }

        var writes = _capture.Captured
            .Select(row => new RowWrite(row.Table, RowKey.Format(CapturedKey.Parse(row.KeyJson)), row.FirstOperation == 'I' ? WriteKind.Insert : WriteKind.Update, row.OldVersion, null))
            .ToList();
        return ValueTask.FromResult(new ParticipantVote(Name, NeedsRedo: false, writes));
    }

    public override async ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        if (!_holdsWriteLock)
        {
            // Its reads are validated only if the transaction writes elsewhere (ValidateReadsAsync).
            return new ParticipantVote(Name, NeedsRedo: false, [], ReadOnly: true);
        }

        var captured = _capture.Captured;
        var writes = new List<RowWrite>(captured.Count);
        var tables = _backend.Catalog.ByName;
        foreach (var row in captured)
        {
            if (!tables.TryGetValue(row.Table, out var table))
            {
                throw new KhonsuException($"SQLite backend '{Name}': table '{row.Table}' changed in transaction {transactionId} is no longer in the catalog.");
            }

            var write = await DescribeAsync(table, row, async, cancellationToken).ConfigureAwait(false);
            if (write is not null)
            {
                writes.Add(write);
            }
        }

        _wrote = true;
        return new ParticipantVote(Name, NeedsRedo: true, writes);
    }

    public override async ValueTask CommitAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        try
        {
            if (_wrote)
            {
                // The applied-marker commits with the writes: recovery then knows not to redo them.
                // A participant that only validated its reads writes nothing, so it makes no other
                // snapshot stale.
                await SqliteAppliedMarker.WriteAsync(_connection, _local, transactionId, async, cancellationToken).ConfigureAwait(false);
            }

            await SyncOrAsync.CommitAsync(_local, async, cancellationToken).ConfigureAwait(false);

            // Before the permit goes: the next transaction's snapshot here sees these writes.
            Context?.Committed();
        }
        finally
        {
            // A local transaction that failed to commit ends here too (rolled back): kept open, it
            // would hold the file's write lock and the process's permit until the connection
            // closes. Its commit, if logged, is redone by recovery from the row images.
            await FinishAsync(async).ConfigureAwait(false);
        }
    }

    public override async ValueTask RollbackAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        if (_finished)
        {
            return;
        }

        try
        {
            await SyncOrAsync.RollbackAsync(_local, async, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await FinishAsync(async).ConfigureAwait(false);
        }
    }

    public override async ValueTask SaveAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        await base.SaveAsync(savepoint, async, cancellationToken).ConfigureAwait(false);
        _capture.Save(savepoint);
    }

    /// <summary>SQLite undoes the rows written since the savepoint; the capture forgets them too.</summary>
    public override async ValueTask RollbackToAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        await base.RollbackToAsync(savepoint, async, cancellationToken).ConfigureAwait(false);
        _capture.RollbackTo(savepoint);
    }

    public override async ValueTask ReleaseAsync(string savepoint, bool async, CancellationToken cancellationToken)
    {
        await base.ReleaseAsync(savepoint, async, cancellationToken).ConfigureAwait(false);
        _capture.Release(savepoint);
    }

    public override ValueTask AbandonAsync(bool async, CancellationToken cancellationToken) => RollbackAsync(TransactionId, async, cancellationToken);

    private async ValueTask<RowWrite?> DescribeAsync(TableInfo table, CapturedRow row, bool async, CancellationToken cancellationToken)
    {
        var keyValues = CapturedKey.Parse(row.KeyJson);
        var key = RowKey.Format(keyValues);
        var image = await SqliteRowImages.ReadAsync(_connection, _local, table, keyValues, async, cancellationToken).ConfigureAwait(false);
        if (image is null)
        {
            // Inserted then deleted again: nothing to make durable.
            return row.FirstOperation == 'I'
                ? null
                : new RowWrite(table.Name, key, WriteKind.Delete, row.OldVersion, null, new RowImage(table.KeyColumns, keyValues));
        }

        long? newVersion = table.HasVersionColumn ? Convert.ToInt64(image[_backend.Options.VersionColumn], CultureInfo.InvariantCulture) : null;
        var kind = row.FirstOperation == 'I' ? WriteKind.Insert : WriteKind.Update;
        return new RowWrite(table.Name, key, kind, row.OldVersion, newVersion, image);
    }

    /// <summary>
    /// Queues in the process for the file's write lock (an await: no thread waits; a synchronous
    /// caller blocks its own thread instead), then takes SQLite's lock itself, waiting for writers
    /// outside the queue (other processes) in short busy-handler steps with a pause between them.
    /// The permit is held until the local transaction ends, or given back at once if this step fails.
    /// </summary>
    /// <remarks>
    /// The queue finds deadlocks between its own waits exactly (see <see cref="SqliteWriteQueue"/>),
    /// so a wait there is bounded by <paramref name="statementWait"/> alone. A cycle may also run
    /// through a lock the queue cannot see (A holds a PostgreSQL row lock and queues here; B holds
    /// this file's permit and waits for A's row): B's wait there is bounded
    /// (<see cref="ParticipantContext.HiddenLockWait"/>), and A gives up its place as soon as an
    /// older transaction it waits for here has waited a while on such a lock
    /// (<see cref="ParticipantContext.YieldsTo"/>): the younger side of the deadlock gives up first.
    /// Writers outside the queue (other processes) are waited for within the hidden-lock bound once
    /// the transaction spans several backends.
    /// </remarks>
    private async ValueTask TakeWriteLockAsync(SqliteConnection connection, TimeSpan statementWait, string what, bool spansSeveralBackends, bool async, CancellationToken cancellationToken)
    {
        var queue = _backend.WriteQueue;
        var hiddenWait = Context?.HiddenLockWait ?? _backend.Options.LockTimeout;
        var context = Context;
        try
        {
            var yields = context is { OthersMayHoldHiddenLocks: true };
            var started = Stopwatch.GetTimestamp();
            if (!await queue.EnterAsync(statementWait, TransactionId, context?.Age ?? long.MaxValue, async, cancellationToken, yields ? context!.YieldsTo : null, context?.SuspectedDeadlockAfter ?? default)
                    .ConfigureAwait(false))
            {
                throw Stopwatch.GetElapsedTime(started) < statementWait
                    ? KhonsuException.SerializationFailure(
                        $"Transaction {TransactionId}, SQLite backend '{Name}': it waited for the write lock while holding locks on other backends, behind an older transaction that has been waiting for a lock on another database (a possible deadlock across databases, which the older transaction wins). Retry the transaction.",
                        TransactionId)
                    : LockTimedOut(statementWait, false, new SqliteException("SQLite Error 5: 'database is locked'.", raw.SQLITE_BUSY, raw.SQLITE_BUSY));
            }
        }
        catch (SqliteDeadlockException deadlock)
        {
            throw KhonsuException.SerializationFailure(
                $"Transaction {TransactionId}, SQLite backend '{Name}': {deadlock.Message}. Retry the transaction.", TransactionId, deadlock);
        }

        _permit = queue;
        var wait = spansSeveralBackends ? Min(hiddenWait, statementWait) : statementWait;
        var lockStarted = Stopwatch.GetTimestamp();
        try
        {
            // Holding the permit, the snapshot the write lock starts sees every commit of the queue before it.
            StartSnapshot();
            var pause = FirstRetryPause;
            while (true)
            {
                var left = wait - Stopwatch.GetElapsedTime(lockStarted);
                var failure = TryWriteLock(connection, (int)Math.Clamp(left.TotalMilliseconds, 0, OtherWritersBusyTimeoutMilliseconds));
                if (failure is null)
                {
                    return;
                }

                if (failure.SqliteErrorCode != raw.SQLITE_BUSY)
                {
                    throw failure;
                }

                if (failure.SqliteExtendedErrorCode == SqliteBusySnapshot)
                {
                    throw KhonsuException.SerializationFailure(
                        $"Transaction {TransactionId}, SQLite backend '{Name}': another transaction committed to this database after this transaction's snapshot, so {what} may have changed (SQLITE_BUSY_SNAPSHOT). Retry the transaction.",
                        TransactionId,
                        failure);
                }

                if (left <= TimeSpan.Zero)
                {
                    throw LockTimedOut(wait, spansSeveralBackends, failure);
                }

                await SyncOrAsyncWait.DelayAsync(pause < left ? pause : left, async, cancellationToken).ConfigureAwait(false);
                pause = pause * 2 < MaxRetryPause ? pause * 2 : MaxRetryPause;
            }
        }
        catch
        {
            ReleasePermit();
            throw;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>One try at SQLite's write lock; null when taken, else SQLite's error.</summary>
    private static SqliteException? TryWriteLock(SqliteConnection connection, int busyTimeoutMilliseconds)
    {
        // A write that changes nothing still takes the write lock, or fails on a stale snapshot.
        var handle = connection.Handle!;
        raw.sqlite3_busy_timeout(handle, busyTimeoutMilliseconds);
        int rc;
        try
        {
            rc = raw.sqlite3_exec(handle, $"UPDATE {SqliteSchemaInstaller.AppliedTable} SET tx_id = tx_id WHERE 0");
        }
        finally
        {
            raw.sqlite3_busy_timeout(handle, SqliteBackend.BusyTimeoutMilliseconds);
        }

        return rc == raw.SQLITE_OK
            ? null
            : new SqliteException($"SQLite Error {rc}: '{raw.sqlite3_errmsg(handle).utf8_to_string()}'.", rc, raw.sqlite3_extended_errcode(handle));
    }

    private KhonsuException LockTimedOut(TimeSpan wait, bool spansSeveralBackends, SqliteException inner)
    {
        var why = spansSeveralBackends
            ? $"its write lock stayed taken for {wait.TotalMilliseconds:0} ms while this transaction holds locks on other backends (a possible deadlock across databases)"
            : $"its write lock stayed taken for {wait.TotalMilliseconds:0} ms (the command timeout)";
        return KhonsuException.SerializationFailure($"Transaction {TransactionId}, SQLite backend '{Name}': {why}. Retry the transaction.", TransactionId, inner);
    }

    private void ReleasePermit()
    {
        _holdsWriteLock = false;
        Interlocked.Exchange(ref _permit, null)?.Exit(TransactionId);
    }

    private async ValueTask FinishAsync(bool async)
    {
        _finished = true;
        _capture.Stop();
        try
        {
            await SyncOrAsync.DisposeAsync(_local, async).ConfigureAwait(false);
        }
        finally
        {
            if (_validator is { } validator)
            {
                _validator = null;
                // Rolls back: it wrote nothing, it only held the write lock.
                await SyncOrAsync.DisposeAsync(validator.Transaction, async).ConfigureAwait(false);
                await SyncOrAsync.DisposeAsync(validator.Connection, async).ConfigureAwait(false);
            }

            // Only now that SQLite's lock is released: the next in the queue takes it at once.
            ReleasePermit();
        }
    }
}
