using Apache.Arrow;
using DuckDB.NET.Data;
using Khonsu.Mirror.Changes;
using static Khonsu.Mirror.DuckDb.MirrorSql;

namespace Khonsu.Mirror.DuckDb;

/// <summary>
/// Makes a source table's mirror match a change batch's columns: created from the source schema on
/// first sight (a schema per backend, the source columns with their types, the row's canonical key
/// as primary key, the commit position that last wrote it); a source column added later is added;
/// a column whose type changed is reported (<see cref="MirrorSchemaException"/>).
/// </summary>
internal sealed class MirrorTables(DuckDBConnection connection)
{
    /// <summary>The row's canonical key in the mirror (see <see cref="ChangeColumns.Key"/>): one column whatever the source key.</summary>
    public const string KeyColumn = ChangeColumns.Key;

    /// <summary>The commit position of the transaction that last wrote the row.</summary>
    public const string PositionColumn = ChangeColumns.Position;

    private readonly Dictionary<string, Dictionary<string, string>> _known = new(StringComparer.OrdinalIgnoreCase);

    public async ValueTask EnsureAsync(RecordBatch batch, DuckDBTransaction transaction, CancellationToken cancellationToken)
    {
        var (backend, table) = (ChangeGroup.BackendOf(batch), ChangeGroup.TableOf(batch));
        var name = TableName(backend, table);
        var columns = await ColumnsAsync(backend, table, transaction, cancellationToken).ConfigureAwait(false);
        var source = batch.Schema.FieldsList.Skip(ChangeColumns.Count).ToList();
        if (columns.Count == 0)
        {
            var definition = string.Join(", ", source.Select(f => $"{Quote(f.Name)} {TypeOf(f.DataType)}"));
            await ExecuteAsync(
                $"CREATE SCHEMA IF NOT EXISTS {Quote(backend)}; CREATE TABLE {name} ({Quote(KeyColumn)} VARCHAR PRIMARY KEY, {Quote(PositionColumn)} BIGINT NOT NULL, {definition})",
                transaction,
                cancellationToken).ConfigureAwait(false);
            _known.Remove(name);
            return;
        }

        foreach (var field in source)
        {
            var type = TypeOf(field.DataType);
            if (!columns.TryGetValue(field.Name, out var mirrored))
            {
                await ExecuteAsync($"ALTER TABLE {name} ADD COLUMN {Quote(field.Name)} {type}", transaction, cancellationToken).ConfigureAwait(false);
                _known.Remove(name);
            }
            else if (!mirrored.Equals(type, StringComparison.OrdinalIgnoreCase))
            {
                throw new MirrorSchemaException(
                    $"Table '{table}' of backend '{backend}': column '{field.Name}' is {type} at the source now, and {mirrored} in the mirror (its type changed at the source). " +
                    "The mirror cannot follow a changed column type; build the mirror again from the sources (docs/mirror.md).");
            }
        }
    }

    /// <summary>Forgets what it knew of the tables: a transaction that created or altered one rolled back.</summary>
    public void Forget() => _known.Clear();

    private async ValueTask<Dictionary<string, string>> ColumnsAsync(string backend, string table, DuckDBTransaction transaction, CancellationToken cancellationToken)
    {
        var name = TableName(backend, table);
        if (_known.TryGetValue(name, out var known))
        {
            return known;
        }

        var columns = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2";
        command.Parameters.Add(new DuckDBParameter((object)backend));
        command.Parameters.Add(new DuckDBParameter((object)table));
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            columns[reader.GetString(0)] = reader.GetString(1);
        }

        if (columns.Count > 0)
        {
            _known[name] = columns;
        }

        return columns;
    }

    private async ValueTask ExecuteAsync(string sql, DuckDBTransaction transaction, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
