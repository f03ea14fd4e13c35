using System.Data.Common;
using Apache.Arrow.Types;
using Khonsu.Data.Backends;

namespace Khonsu.Mirror.Changes;

/// <summary>
/// The columns of the followed tables, read from their source databases and remembered: what types
/// the stream's batches have. Read again once when a row image names a column not seen before (a
/// column added since), so a new column is followed.
/// </summary>
internal sealed class SourceSchemas(IReadOnlyList<KhonsuBackend> backends)
{
    private readonly Dictionary<(string Backend, string Table), SourceTable> _tables = new();

    /// <summary>The table as its database declares it now, read again when <paramref name="refresh"/>.</summary>
    public async ValueTask<SourceTable> GetAsync(string backendName, string table, bool refresh, CancellationToken cancellationToken)
    {
        var id = (backendName.ToLowerInvariant(), table.ToLowerInvariant());
        if (!refresh && _tables.TryGetValue(id, out var known))
        {
            return known;
        }

        var backend = backends.FirstOrDefault(b => b.Name.Equals(backendName, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException($"The commit log holds changes of backend '{backendName}', which the connection string does not name: give the change stream the application's connection string.");
        var read = await ReadAsync(backend, table, cancellationToken).ConfigureAwait(false);
        _tables[id] = read;
        return read;
    }

    private static async Task<SourceTable> ReadAsync(KhonsuBackend backend, string table, CancellationToken cancellationToken)
    {
        var connection = backend.CreateConnection();
        await using (connection.ConfigureAwait(false))
        {
            await backend.OpenConnectionAsync(connection, async: true, cancellationToken).ConfigureAwait(false);
            var catalog = await backend.LoadCatalogAsync(connection, null, cancellationToken).ConfigureAwait(false);
            var info = catalog.Tables.FirstOrDefault(t => t.Name.Equals(table, StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidOperationException($"Table '{table}' of backend '{backend.Name}' is in the commit log but no longer in its database: the change stream cannot type its columns.");
            var rowIdOnly = info.KeyColumns is ["rowid"];
            var name = info.Schema is null ? Quote(info.Name) : Quote(info.Schema) + "." + Quote(info.Name);
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                // No rows: the result's declared column types are what the stream needs.
                command.CommandText = $"SELECT {(rowIdOnly ? "rowid, " : string.Empty)}* FROM {name} WHERE 1 = 0";
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    var columns = new List<SourceColumn>(reader.FieldCount);
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        columns.Add(new SourceColumn(reader.GetName(i), ArrowTypeOf(reader, i)));
                    }

                    return new SourceTable(backend.Name, info.Name, columns, info.KeyColumns);
                }
            }
        }
    }

    /// <summary>
    /// The Arrow type of a source column: integers int64, floating and decimal numbers double,
    /// booleans boolean, binary binary, everything else (text, dates, times, json) utf8 as the
    /// commit log carries it.
    /// </summary>
    private static IArrowType ArrowTypeOf(DbDataReader reader, int ordinal)
    {
        var type = reader.GetFieldType(ordinal);
        return type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(byte) || type == typeof(sbyte) ? Int64Type.Default
            : type == typeof(double) || type == typeof(float) || type == typeof(decimal) ? DoubleType.Default
            : type == typeof(bool) ? BooleanType.Default
            : type == typeof(byte[]) ? BinaryType.Default
            : StringType.Default;
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
