using System.Data.Common;
using System.Globalization;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Engine.Log;

namespace Khonsu.Data.Runtime;

/// <summary>
/// A database belongs to one commit log. The first runtime that opens it records its log there
/// (<see cref="LogOwnerTable"/>); a runtime with another log is refused at open, naming the
/// backend, both logs and the fix, because two logs on one database would each certify part of its
/// transactions and each settle the other's prepared ones (a partial commit). Moving a database to
/// another log is an operator's act (<c>khonsu log adopt</c>), never a side effect of an open.
/// </summary>
internal static class LogFence
{
    /// <summary>SqlState of the refusal (PostgreSQL's object_not_in_prerequisite_state): not transient, a configuration to fix.</summary>
    public const string RefusedSqlState = "55000";

    /// <summary>Where docs/operations.md tells how to move a database to another log.</summary>
    public const string MoveDocs = "docs/operations.md, \"Moving a database to another log\"";

    private static string Select(LogOwnerTable table) => $"SELECT log_id, log, claimed_at, claimed_by FROM {table.Table} WHERE id = 1";

    private static string Claim(LogOwnerTable table)
        => $"INSERT INTO {table.Table} (id, log_id, log, claimed_at, claimed_by) VALUES (1, @log_id, @log, @claimed_at, @claimed_by) ON CONFLICT (id) DO NOTHING";

    private static string Move(LogOwnerTable table)
        => $"UPDATE {table.Table} SET log_id = @log_id, log = @log, claimed_at = @claimed_at, claimed_by = @claimed_by WHERE id = 1 AND log_id = @from";

    /// <summary>
    /// Records <paramref name="log"/> as the log of every backend that has none yet, and refuses if
    /// one records another log. A backend without an owner table (one that cannot hold it, or
    /// <c>Schema=Manual</c> before the schema is installed) is not fenced: <paramref name="unfenced"/> is told.
    /// </summary>
    /// <exception cref="KhonsuException">A backend belongs to another log.</exception>
    public static async ValueTask ClaimAllAsync(
        KhonsuSettings settings, IReadOnlyList<KhonsuBackend> backends, LogIdentity log, string nodeId, Action<string> unfenced, CancellationToken cancellationToken)
    {
        foreach (var backend in backends)
        {
            var connection = backend.CreateConnection();
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                var owner = await ClaimAsync(backend, connection, log, nodeId, cancellationToken).ConfigureAwait(false);
                if (owner is null)
                {
                    unfenced(backend.Name);
                }
                else if (owner.LogId != log.Id)
                {
                    throw Refusal(Describe(settings, backend), owner, log);
                }
            }
        }
    }

    /// <summary>Claims the backend for <paramref name="log"/> unless a log is recorded already; returns the log recorded now, or null without an owner table.</summary>
    public static async ValueTask<LogOwner?> ClaimAsync(KhonsuBackend backend, DbConnection connection, LogIdentity log, string nodeId, CancellationToken cancellationToken)
    {
        if (backend.LogOwnerTable is not { } table || !await table.ExistsAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        // Read first: once claimed (every open but the first), a read is all it takes, and a read
        // never waits for a writer (on SQLite, the write lock of a transaction of the owning log).
        if (await ReadAsync(backend, connection, cancellationToken).ConfigureAwait(false) is { } owner)
        {
            return owner;
        }

        // Several processes may claim at once: the key makes one row win, and every one reads the winner.
        await InnerCommands.ExecuteAsync(connection, null, Claim(table), cancellationToken, Parameters(table, log, nodeId)).ConfigureAwait(false);
        return await ReadAsync(backend, connection, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The log the backend records, or null when it records none (or has no owner table).</summary>
    public static async ValueTask<LogOwner?> ReadAsync(KhonsuBackend backend, DbConnection connection, CancellationToken cancellationToken)
    {
        if (backend.LogOwnerTable is not { } table || !await table.ExistsAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var rows = await InnerCommands.QueryAsync(
            connection,
            null,
            Select(table),
            reader => new LogOwner(reader.GetString(0), reader.GetString(1), Text(reader.GetValue(2)), reader.IsDBNull(3) ? null : reader.GetString(3)),
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>
    /// Moves the backend from the log <paramref name="fromLogId"/> (null: from no recorded log) to
    /// <paramref name="to"/>, only if it still records that one. The caller has made sure the old
    /// log left no undecided work here. Returns false when the backend records another log.
    /// </summary>
    public static async ValueTask<bool> MoveAsync(
        KhonsuBackend backend, DbConnection connection, string? fromLogId, LogIdentity to, string nodeId, CancellationToken cancellationToken)
    {
        var table = backend.LogOwnerTable ?? throw new InvalidOperationException($"Backend '{backend.Name}' ({backend.Kind}) records no commit log.");
        if (fromLogId is null)
        {
            return (await ClaimAsync(backend, connection, to, nodeId, cancellationToken).ConfigureAwait(false))?.LogId == to.Id;
        }

        var moved = await InnerCommands.ExecuteAsync(
            connection, null, Move(table), cancellationToken, [.. Parameters(table, to, nodeId), ("from", fromLogId)]).ConfigureAwait(false);
        return moved == 1;
    }

    /// <summary>The refusal of a runtime whose log is not the one the backend records.</summary>
    public static KhonsuException Refusal(string backend, LogOwner owner, LogIdentity log)
        => new(
            $"{backend} belongs to another commit log: it records {owner}, and this connection string's log is {log}. A database belongs to one log: " +
            "two logs would each certify part of its transactions and settle each other's prepared ones (a partial commit). If the Log key is wrong, " +
            "fix it. If the database is to move to this log (say, from the embedded log to Kafka): stop the processes that use the old log, let its " +
            "recovery finish their work (khonsu recover, with the old connection string), then run khonsu log adopt --from <old log> with this " +
            $"connection string ({MoveDocs}).",
            RefusedSqlState,
            isTransient: false,
            transactionId: null);

    /// <summary>"backend 'shop' (Postgres, host=db1;database=shop)": never with credentials.</summary>
    public static string Describe(KhonsuSettings settings, KhonsuBackend backend)
    {
        var inner = settings.Backends.FirstOrDefault(b => b.Name.Equals(backend.Name, StringComparison.OrdinalIgnoreCase))?.ConnectionString;
        return inner is null ? $"Backend '{backend.Name}' ({backend.Kind})" : $"Backend '{backend.Name}' ({backend.Kind}, {BackendLocation.Of(inner)})";
    }

    private static (string Name, object? Value)[] Parameters(LogOwnerTable table, LogIdentity log, string nodeId)
        => [("log_id", log.Id), ("log", log.Description), ("claimed_at", table.Timestamp(DateTimeOffset.UtcNow)), ("claimed_by", nodeId)];

    private static string? Text(object value) => value switch
    {
        DBNull => null,
        DateTime time => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        DateTimeOffset time => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };
}
