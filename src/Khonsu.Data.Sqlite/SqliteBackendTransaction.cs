using System.Data.Common;
using System.Globalization;
using Khonsu.Data.Backends;
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
    private const int SqliteBusySnapshot = 517;
    private bool _holdsWriteLock;
    private bool _wrote;
    private bool _hasSnapshot;
    private bool _finished;

    public SqliteBackendTransaction(SqliteBackend backend, SqliteConnection connection, SqliteTransaction local, TransactionId transactionId)
        : base(backend, connection, transactionId)
    {
        _backend = backend;
        _connection = connection;
        _local = local;
    }

    public override DbTransaction? InnerTransaction => _local;

    /// <summary>
    /// Takes SQLite's write lock before the transaction's first write, so that a lock Khonsu cannot
    /// get fails at once as a serialization failure instead of inside Microsoft.Data.Sqlite's retry
    /// loop: a snapshot that another writer made stale can never write (SQLITE_BUSY_SNAPSHOT), and a
    /// transaction holding locks on other backends must not wait long (a cross-database deadlock).
    /// </summary>
    public override ValueTask BeforeStatementAsync(DbCommand command, bool spansSeveralBackends, CancellationToken cancellationToken)
    {
        _hasSnapshot = true;
        if (!_holdsWriteLock && !_backend.StatementAnalyzer.IsReadOnly(_connection.Handle!, command.CommandText))
        {
            var wait = spansSeveralBackends ? _backend.Options.LockTimeout : TimeSpan.FromSeconds(command.CommandTimeout == 0 ? int.MaxValue / 1000 : command.CommandTimeout);
            TakeWriteLock(wait, "it");
            _holdsWriteLock = true;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// SQLite keeps no record of who changed what since a snapshot, so reads are validated for the
    /// whole database: taking the write lock fails (SQLITE_BUSY_SNAPSHOT) if any other connection
    /// committed since this transaction's snapshot, and holding it keeps everything read current
    /// until the participant finishes. Coarse (any change to the file is a conflict) but never misses one.
    /// </summary>
    public override ValueTask ValidateReadsAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        if (_hasSnapshot && !_holdsWriteLock)
        {
            TakeWriteLock(_backend.Options.LockTimeout, "a table it read");
            _holdsWriteLock = true;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The only participant: it holds the write lock already, so its reads are current; the
    /// captured keys go to the certifier (no row images: nothing is redone), then SQLite's own
    /// COMMIT is the commit point.
    /// </summary>
    public override async ValueTask<ParticipantVote> PrepareOnePhaseAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        if (!_holdsWriteLock)
        {
            return new ParticipantVote(Name, NeedsRedo: false, [], ReadOnly: true);
        }

        var captured = await SqliteCapture.ReadAsync(_connection, _local, cancellationToken).ConfigureAwait(false);
        var writes = captured
            .Select(row => new RowWrite(row.Table, RowKey.Format(CapturedKey.Parse(row.KeyJson)), row.FirstOperation == 'I' ? WriteKind.Insert : WriteKind.Update, row.OldVersion, null))
            .ToList();
        return new ParticipantVote(Name, NeedsRedo: false, writes);
    }

    public override async ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        if (!_holdsWriteLock)
        {
            // Its reads are validated only if the transaction writes elsewhere (ValidateReadsAsync).
            return new ParticipantVote(Name, NeedsRedo: false, [], ReadOnly: true);
        }

        var captured = await SqliteCapture.ReadAsync(_connection, _local, cancellationToken).ConfigureAwait(false);
        var writes = new List<RowWrite>(captured.Count);
        var tables = _backend.Catalog.ByName;
        foreach (var row in captured)
        {
            if (!tables.TryGetValue(row.Table, out var table))
            {
                throw new KhonsuException($"SQLite backend '{Name}': table '{row.Table}' changed in transaction {transactionId} is no longer in the catalog.");
            }

            var write = await DescribeAsync(table, row, cancellationToken).ConfigureAwait(false);
            if (write is not null)
            {
                writes.Add(write);
            }
        }

        _wrote = true;
        return new ParticipantVote(Name, NeedsRedo: true, writes);
    }

    public override async ValueTask CommitAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        if (_wrote)
        {
            // The applied-marker commits with the writes: recovery then knows not to redo them.
            // A participant that only validated its reads writes nothing, so it makes no other
            // snapshot stale.
            await SqliteAppliedMarker.WriteAsync(_connection, _local, transactionId, cancellationToken).ConfigureAwait(false);
        }

        await SqliteCapture.StopAsync(_connection, _local, cancellationToken).ConfigureAwait(false);
        await _local.CommitAsync(cancellationToken).ConfigureAwait(false);
        await FinishAsync().ConfigureAwait(false);
    }

    public override async ValueTask RollbackAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        if (_finished)
        {
            return;
        }

        // Rolling back also turns capture off: the flag was set inside this transaction.
        await _local.RollbackAsync(cancellationToken).ConfigureAwait(false);
        await FinishAsync().ConfigureAwait(false);
    }

    public override ValueTask AbandonAsync(CancellationToken cancellationToken) => RollbackAsync(TransactionId, cancellationToken);

    private async ValueTask<RowWrite?> DescribeAsync(TableInfo table, CapturedRow row, CancellationToken cancellationToken)
    {
        var keyValues = CapturedKey.Parse(row.KeyJson);
        var key = RowKey.Format(keyValues);
        var image = await SqliteRowImages.ReadAsync(_connection, _local, table, keyValues, cancellationToken).ConfigureAwait(false);
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

    private void TakeWriteLock(TimeSpan wait, string what)
    {
        // A write that changes nothing still takes the write lock, or fails on a stale snapshot.
        var handle = _connection.Handle!;
        raw.sqlite3_busy_timeout(handle, (int)Math.Min(int.MaxValue, wait.TotalMilliseconds));
        int rc;
        try
        {
            rc = raw.sqlite3_exec(handle, $"UPDATE {SqliteSchemaInstaller.AppliedTable} SET tx_id = tx_id WHERE 0");
        }
        finally
        {
            raw.sqlite3_busy_timeout(handle, SqliteBackend.BusyTimeoutMilliseconds);
        }

        if (rc == raw.SQLITE_OK)
        {
            return;
        }

        var extended = raw.sqlite3_extended_errcode(handle);
        var inner = new SqliteException($"SQLite Error {rc}: '{raw.sqlite3_errmsg(handle).utf8_to_string()}'.", rc, extended);
        if (rc != raw.SQLITE_BUSY)
        {
            throw inner;
        }

        var why = extended == SqliteBusySnapshot
            ? $"another transaction committed to this database after this transaction's snapshot, so {what} may have changed (SQLITE_BUSY_SNAPSHOT)"
            : $"its write lock stayed taken for {wait.TotalMilliseconds:0} ms while this transaction holds locks on other backends (a possible deadlock across databases)";
        throw KhonsuException.SerializationFailure($"Transaction {TransactionId}, SQLite backend '{Name}': {why}. Retry the transaction.", TransactionId, inner);
    }

    private async ValueTask FinishAsync()
    {
        _finished = true;
        await _local.DisposeAsync().ConfigureAwait(false);
    }
}
