using System.Globalization;
using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Recovery;
using Microsoft.Data.Sqlite;
using static Khonsu.Data.Sqlite.SqliteSql;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Recovery for a SQLite backend. SQLite keeps nothing prepared across a crash, so a committed
/// transaction whose applied-marker is missing lost its local transaction: its logged row images
/// are redone, each guarded by the row's version, together with the marker in one transaction.
/// </summary>
internal sealed class SqliteRecoveryResource(SqliteBackend backend, string connectionString) : IRecoverableResource
{
    public string Name => backend.Name;

    public ValueTask<IReadOnlyList<PreparedTransaction>> ListPreparedAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<PreparedTransaction>>([]);

    public ValueTask AbortAsync(TransactionId transactionId, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask CommitAsync(TransactionId transactionId, ParticipantVote vote, CancellationToken cancellationToken)
    {
        // Queued with the process's transactions for the write lock: behind a busy queue, SQLite's
        // busy handler alone would seldom catch the lock free between two of them. Served before
        // every transaction (age 0): a transaction in doubt keeps others from its rows until then,
        // and redo holds nothing else, so it never closes a cycle of waits.
        var queue = backend.WriteQueue;
        if (!await queue.EnterAsync(TimeSpan.FromMilliseconds(SqliteBackend.BusyTimeoutMilliseconds), transactionId, age: 0, async: true, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException(
                $"redo of transaction {transactionId} on '{Name}': this process's transactions kept the database's write lock for {SqliteBackend.BusyTimeoutMilliseconds / 1000} s; recovery tries again later.");
        }

        try
        {
            await RedoUnlessAppliedAsync(transactionId, vote, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            queue.Exit(transactionId);
        }
    }

    private async ValueTask RedoUnlessAppliedAsync(TransactionId transactionId, ParticipantVote vote, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            SqliteConnectionObserver.Notify(connection);
            await InnerCommands.ExecuteAsync(connection, null, $"PRAGMA busy_timeout = {SqliteBackend.BusyTimeoutMilliseconds}", cancellationToken).ConfigureAwait(false);
            var transaction = connection.BeginTransaction(deferred: false);
            await using (transaction.ConfigureAwait(false))
            {
                if (await SqliteAppliedMarker.ExistsAsync(connection, transaction, transactionId, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                var catalog = await SqliteCatalogReader.ReadAsync(connection, transaction, backend.Options.VersionColumn, cancellationToken).ConfigureAwait(false);
                var tables = catalog.Tables.ToDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);
                foreach (var write in vote.Writes)
                {
                    var table = tables.GetValueOrDefault(write.Table)
                        ?? throw new InvalidOperationException($"redo of transaction {transactionId} on '{Name}': table '{write.Table}' no longer exists.");
                    await RedoAsync(connection, transaction, table, write, transactionId, cancellationToken).ConfigureAwait(false);
                }

                await SqliteAppliedMarker.WriteAsync(connection, transaction, transactionId, async: true, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask RedoAsync(SqliteConnection connection, SqliteTransaction transaction, TableInfo table, RowWrite write, TransactionId transactionId, CancellationToken cancellationToken)
    {
        var image = write.Image ?? throw new InvalidOperationException($"redo of transaction {transactionId} on '{Name}': the log holds no image of {write.Table} row {write.Key}.");
        var key = table.KeyColumns.Select(k => image[k]).ToList();
        var keyMatch = SqliteRowImages.KeyMatch(table);
        var keyParameters = SqliteRowImages.KeyParameters(table, key);
        var versionGuard = write.OldVersion is null || !table.HasVersionColumn ? string.Empty : $" AND {Quote(backend.Options.VersionColumn)} = $old";
        var guardParameters = write.OldVersion is null ? keyParameters : [.. keyParameters, ("$old", write.OldVersion)];

        int changed;
        switch (write.Kind)
        {
            case WriteKind.Insert:
                var columns = string.Join(", ", image.Columns.Select(Quote));
                var values = string.Join(", ", image.Columns.Select((_, i) => "$c" + i));
                changed = await InnerCommands.ExecuteAsync(
                    connection, transaction, $"INSERT OR IGNORE INTO {Quote(table.Name)} ({columns}) VALUES ({values})", cancellationToken, ImageParameters(image)).ConfigureAwait(false);
                break;
            case WriteKind.Update:
                var assignments = string.Join(", ", image.Columns.Select((c, i) => $"{Quote(c)} = $c{i}"));
                changed = await InnerCommands.ExecuteAsync(
                    connection, transaction, $"UPDATE {Quote(table.Name)} SET {assignments} WHERE {keyMatch}{versionGuard}", cancellationToken, [.. ImageParameters(image), .. guardParameters]).ConfigureAwait(false);
                break;
            default:
                changed = await InnerCommands.ExecuteAsync(
                    connection, transaction, $"DELETE FROM {Quote(table.Name)} WHERE {keyMatch}{versionGuard}", cancellationToken, guardParameters).ConfigureAwait(false);
                var stillThere = await InnerCommands.ScalarAsync(connection, transaction, $"SELECT 1 FROM {Quote(table.Name)} WHERE {keyMatch}", cancellationToken, keyParameters).ConfigureAwait(false);
                changed = stillThere is null ? 1 : changed;
                break;
        }

        if (changed == 0)
        {
            // Someone outside Khonsu changed the row after the crash: do not overwrite their write blindly.
            throw new InvalidOperationException(
                $"redo of transaction {transactionId} on '{Name}': {write.Table} row {write.Key} changed since the transaction prepared (expected version {write.OldVersion?.ToString(CultureInfo.InvariantCulture) ?? "none"}); settle it by hand.");
        }
    }

    private static (string Name, object? Value)[] ImageParameters(RowImage image)
        => image.Values.Select((v, i) => ("$c" + i, v)).ToArray();
}
