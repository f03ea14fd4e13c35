using Khonsu.Data.Backends;
using Khonsu.Engine;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// khonsu_applied of one SQLite file. Deleting takes the file's write lock, so it queues for it in
/// the process like a transaction does (a Khonsu transaction would otherwise meet the lock taken and
/// wait for it in SQLite's busy handler, within LockTimeout), and holds it for one small DELETE.
/// </summary>
internal sealed class SqliteAppliedMarkers(SqliteBackend backend, string connectionString) : AppliedMarkers
{
    /// <summary>The holder the sweeper's deletes queue as (one per backend; a holder is only a name in the queue).</summary>
    private readonly TransactionId _holder = TransactionId.New();

    public override async ValueTask<IReadOnlyList<AppliedMarker>> ListAsync(string? after, int limit, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            SqliteConnectionObserver.Notify(connection);
            return await InnerCommands.QueryAsync(
                connection,
                null,
                $"SELECT tx_id FROM {SqliteSchemaInstaller.AppliedTable} WHERE tx_id > $after ORDER BY tx_id LIMIT $limit",
                reader => Marker(reader.GetString(0)),
                cancellationToken,
                ("$after", after ?? string.Empty),
                ("$limit", limit)).ConfigureAwait(false);
        }
    }

    public override async ValueTask<(int Deleted, TimeSpan Held)> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return (0, TimeSpan.Zero);
        }

        var queue = backend.WriteQueue;
        // Served before the transactions waiting (age 0, as recovery's redo is): it holds the lock
        // for one small DELETE, and waiting behind a busy queue it could wait for ever. It holds no
        // other permit, so its wait closes no cycle.
        if (!await queue.EnterAsync(TimeSpan.FromMilliseconds(SqliteBackend.BusyTimeoutMilliseconds), _holder, age: 0, async: true, cancellationToken).ConfigureAwait(false))
        {
            return (0, TimeSpan.Zero); // the file stayed busy: the next pass deletes them
        }

        var held = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var connection = new SqliteConnection(connectionString);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                SqliteConnectionObserver.Notify(connection);
                await InnerCommands.ExecuteAsync(connection, null, $"PRAGMA busy_timeout = {SqliteBackend.BusyTimeoutMilliseconds}; PRAGMA synchronous = FULL;", cancellationToken).ConfigureAwait(false);
                var transaction = connection.BeginTransaction(deferred: false);
                await using (transaction.ConfigureAwait(false))
                {
                    var names = keys.Select((_, i) => "$k" + i).ToList();
                    var deleted = await InnerCommands.ExecuteAsync(
                        connection,
                        transaction,
                        $"DELETE FROM {SqliteSchemaInstaller.AppliedTable} WHERE tx_id IN ({string.Join(", ", names)})",
                        cancellationToken,
                        [.. keys.Select((key, i) => (names[i], (object?)key))]).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return (deleted, System.Diagnostics.Stopwatch.GetElapsedTime(held));
                }
            }
        }
        finally
        {
            queue.Exit(_holder);
        }
    }

    private static AppliedMarker Marker(string key) => new(key, TransactionId.TryParse(key, out var id) ? id : null);
}
