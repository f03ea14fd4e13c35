using Apache.Arrow;
using DuckDB.NET.Data;
using Khonsu.Mirror.Changes;
using static Khonsu.Mirror.DuckDb.MirrorSql;

namespace Khonsu.Mirror.DuckDb;

/// <summary>
/// A DuckDB file that mirrors the tables a Khonsu change stream follows. Each <see cref="ChangeGroup"/>
/// (whole source transactions) is applied in one DuckDB transaction together with the position it
/// reaches, so the mirror is always at one log position (every query sees one cut across all the
/// source databases), nothing is applied twice, and after a crash it continues where its last
/// commit left it. Source tables appear as <c>"&lt;backend&gt;"."&lt;table&gt;"</c>, with the row's
/// canonical key (<see cref="ChangeColumns.Key"/>) and the position that last wrote it beside the
/// source columns.
/// </summary>
public sealed class DuckDbMirror : IAsyncDisposable
{
    private readonly DuckDBConnection _connection;
    private readonly MirrorTables _tables;

    private DuckDbMirror(DuckDBConnection connection, MirrorPosition position)
    {
        _connection = connection;
        _tables = new MirrorTables(connection);
        Position = position;
    }

    /// <summary>How far the mirror has applied the stream, as its last commit stored it.</summary>
    public MirrorPosition Position { get; private set; }

    /// <summary>The open DuckDB connection, for queries on the mirror (they see the position <see cref="Position"/> names, or a later one).</summary>
    public DuckDBConnection Connection => _connection;

    /// <summary>Opens (creating if need be) the mirror's DuckDB file at <paramref name="path"/>, and reads how far it applied.</summary>
    public static async Task<DuckDbMirror> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var connection = new DuckDBConnection($"Data Source={Path.GetFullPath(path)}");
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using (var create = connection.CreateCommand())
            {
                create.CommandText = CreateOwnTables;
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return new DuckDbMirror(connection, await ReadPositionAsync(connection, cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads the position a mirror file stored, without opening it for applying (null when the file is no mirror yet).</summary>
    public static async Task<MirrorPosition?> ReadPositionAsync(string path, CancellationToken cancellationToken = default)
    {
        var connection = new DuckDBConnection($"Data Source={Path.GetFullPath(path)};ACCESS_MODE=READ_ONLY");
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var exists = connection.CreateCommand();
            exists.CommandText = $"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{OwnSchema}' AND table_name = 'applied'";
            return Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0
                ? null
                : await ReadPositionAsync(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Applies a group of whole transactions, and the position it reaches, in one DuckDB transaction.
    /// A group the mirror already holds (its position at or before the mirror's) is skipped.
    /// </summary>
    /// <returns>Whether it was applied (false: the mirror already held it).</returns>
    /// <exception cref="MirrorSchemaException">A source column changed type; nothing was applied.</exception>
    public async Task<bool> ApplyAsync(ChangeGroup group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (group.ThroughPosition <= Position.ThroughPosition)
        {
            return false;
        }

        if (group.Transactions.Count > 0 && group.Transactions[0].Position <= Position.ThroughPosition)
        {
            throw new InvalidOperationException(
                $"The group starts at position {group.Transactions[0].Position}, at or before the mirror's position {Position.ThroughPosition}: read the stream from {Position.Next}.");
        }

        var transaction = _connection.BeginTransaction();
        try
        {
            foreach (var batch in group.Batches)
            {
                await _tables.EnsureAsync(batch, transaction, cancellationToken).ConfigureAwait(false);
                await ApplyBatchAsync(batch, transaction, cancellationToken).ConfigureAwait(false);
            }

            var last = group.Transactions.Count > 0 ? group.Transactions[^1] : null;
            var position = new MirrorPosition(group.ThroughPosition, last?.Position ?? Position.LastCommitPosition, last?.CommittedAt ?? Position.LastCommittedAt, DateTimeOffset.UtcNow);
            await RecordAsync(group, position, transaction, cancellationToken).ConfigureAwait(false);
            transaction.Commit();
            Position = position;
            return true;
        }
        catch
        {
            transaction.Rollback();
            _tables.Forget();
            throw;
        }
        finally
        {
            transaction.Dispose();
        }
    }

    /// <summary>Closes the mirror's file.</summary>
    public async ValueTask DisposeAsync() => await _connection.DisposeAsync().ConfigureAwait(false);

    /// <summary>
    /// One table's changes: only the last change of each row counts (the group commits as a whole),
    /// so a row is written at most once: deleted, or inserted with its latest image.
    /// </summary>
    private async ValueTask ApplyBatchAsync(RecordBatch batch, DuckDBTransaction transaction, CancellationToken cancellationToken)
    {
        var keys = (StringArray)batch.Column(ChangeColumns.Key);
        var operations = (StringArray)batch.Column(ChangeColumns.Operation);
        var positions = (Int64Array)batch.Column(ChangeColumns.Position);
        var lastOfRow = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Length; i++)
        {
            lastOfRow[keys.GetString(i)] = i;
        }

        var name = TableName(ChangeGroup.BackendOf(batch), ChangeGroup.TableOf(batch));
        var sourceFields = batch.Schema.FieldsList.Skip(ChangeColumns.Count).ToList();
        using var delete = _connection.CreateCommand();
        delete.Transaction = transaction;
        delete.CommandText = $"DELETE FROM {name} WHERE {Quote(MirrorTables.KeyColumn)} = $1";
        using var upsert = _connection.CreateCommand();
        upsert.Transaction = transaction;
        var columns = new[] { MirrorTables.KeyColumn, MirrorTables.PositionColumn }.Concat(sourceFields.Select(f => f.Name)).Select(Quote);
        upsert.CommandText = $"INSERT OR REPLACE INTO {name} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", Enumerable.Range(1, sourceFields.Count + 2).Select(i => "$" + i))})";
        foreach (var row in lastOfRow.Values.Order())
        {
            if (operations.GetString(row) == "delete")
            {
                delete.Parameters.Clear();
                delete.Parameters.Add(Parameter(keys.GetString(row)));
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            upsert.Parameters.Clear();
            upsert.Parameters.Add(Parameter(keys.GetString(row)));
            upsert.Parameters.Add(Parameter(positions.GetValue(row)));
            for (var c = 0; c < sourceFields.Count; c++)
            {
                upsert.Parameters.Add(Parameter(ArrowValues.Get(batch.Column(ChangeColumns.Count + c), row)));
            }

            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The position reached, and each transaction applied: a transaction applied twice would break the latter's primary key.</summary>
    private async ValueTask RecordAsync(ChangeGroup group, MirrorPosition position, DuckDBTransaction transaction, CancellationToken cancellationToken)
    {
        using var insert = _connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = $"INSERT INTO {OwnSchema}.transactions (tx_id, position, committed_at, rows) VALUES ($1, $2, $3, $4)";
        foreach (var applied in group.Transactions)
        {
            insert.Parameters.Clear();
            insert.Parameters.Add(Parameter(applied.TransactionId));
            insert.Parameters.Add(Parameter(applied.Position));
            insert.Parameters.Add(Parameter(applied.CommittedAt.UtcDateTime));
            insert.Parameters.Add(Parameter(applied.Rows));
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        using var store = _connection.CreateCommand();
        store.Transaction = transaction;
        store.CommandText = $"INSERT OR REPLACE INTO {OwnSchema}.applied (id, through_position, last_commit_position, last_committed_at, applied_at) VALUES (1, $1, $2, $3, $4)";
        store.Parameters.Add(Parameter(position.ThroughPosition));
        store.Parameters.Add(Parameter(position.LastCommitPosition));
        store.Parameters.Add(Parameter(position.LastCommittedAt?.UtcDateTime));
        store.Parameters.Add(Parameter(position.AppliedAt!.Value.UtcDateTime));
        await store.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DuckDBParameter Parameter(object? value) => new(value ?? DBNull.Value);

    private static async Task<MirrorPosition> ReadPositionAsync(DuckDBConnection connection, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT through_position, last_commit_position, last_committed_at, applied_at FROM {OwnSchema}.applied WHERE id = 1";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return MirrorPosition.None;
        }

        return new MirrorPosition(
            reader.GetInt64(0),
            reader.IsDBNull(1) ? null : reader.GetInt64(1),
            reader.IsDBNull(2) ? null : new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc)),
            reader.IsDBNull(3) ? null : new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc)));
    }
}
