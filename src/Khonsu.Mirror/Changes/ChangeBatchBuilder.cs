using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Khonsu.Engine.Commit;

namespace Khonsu.Mirror.Changes;

/// <summary>Builds the Arrow batch of one table's changes in a group: the change columns, then the source table's columns typed as it declares them.</summary>
internal static class ChangeBatchBuilder
{
    public static RecordBatch Build(SourceTable table, IReadOnlyList<ChangeRow> rows)
    {
        var fields = new List<Field>
        {
            new(ChangeColumns.Position, Int64Type.Default, nullable: false),
            new(ChangeColumns.TransactionId, StringType.Default, nullable: false),
            new(ChangeColumns.Operation, StringType.Default, nullable: false),
            new(ChangeColumns.Key, StringType.Default, nullable: false),
            new(ChangeColumns.BeforeVersion, Int64Type.Default, nullable: true),
            new(ChangeColumns.AfterVersion, Int64Type.Default, nullable: true),
        };
        fields.AddRange(table.Columns.Select(c => new Field(c.Name, c.Type, nullable: true)));
        var metadata = new Dictionary<string, string>
        {
            [ChangeColumns.BackendMetadata] = table.Backend,
            [ChangeColumns.TableMetadata] = table.Table,
            [ChangeColumns.KeyColumnsMetadata] = string.Join(",", table.KeyColumns),
        };
        var schema = new Schema(fields, metadata);

        var arrays = new List<IArrowArray>
        {
            new Int64Array.Builder().AppendRange(rows.Select(r => r.Position)).Build(),
            new StringArray.Builder().AppendRange(rows.Select(r => r.TransactionId)).Build(),
            new StringArray.Builder().AppendRange(rows.Select(r => OperationName(r.Write.Kind))).Build(),
            new StringArray.Builder().AppendRange(rows.Select(r => r.Write.Key)).Build(),
            Int64s(rows.Select(r => r.Write.OldVersion)),
            Int64s(rows.Select(r => r.Write.NewVersion)),
        };
        foreach (var column in table.Columns)
        {
            arrays.Add(ColumnOf(column, rows.Select(r => ValueOf(r.Write.Image, column.Name))));
        }

        return new RecordBatch(schema, arrays, rows.Count);
    }

    public static string OperationName(WriteKind kind) => kind switch
    {
        WriteKind.Insert => "insert",
        WriteKind.Update => "update",
        WriteKind.Delete => "delete",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a write kind."),
    };

    private static object? ValueOf(RowImage? image, string column)
    {
        if (image is null)
        {
            return null;
        }

        for (var i = 0; i < image.Columns.Count; i++)
        {
            if (string.Equals(image.Columns[i], column, StringComparison.OrdinalIgnoreCase))
            {
                return image.Values[i];
            }
        }

        return null;
    }

    private static Int64Array Int64s(IEnumerable<long?> values)
    {
        var builder = new Int64Array.Builder();
        foreach (var value in values)
        {
            if (value is { } v)
            {
                builder.Append(v);
            }
            else
            {
                builder.AppendNull();
            }
        }

        return builder.Build();
    }

    /// <summary>An Arrow array of one source column; the log's values (long, double, string, byte[]) converted to the column's type.</summary>
    private static IArrowArray ColumnOf(SourceColumn column, IEnumerable<object?> values) => column.Type.TypeId switch
    {
        ArrowTypeId.Int64 => Int64s(values.Select(v => v is null ? (long?)null : Convert.ToInt64(v, CultureInfo.InvariantCulture))),
        ArrowTypeId.Double => Doubles(values),
        ArrowTypeId.Boolean => Booleans(values),
        ArrowTypeId.Binary => Binaries(values),
        _ => Strings(values),
    };

    private static DoubleArray Doubles(IEnumerable<object?> values)
    {
        var builder = new DoubleArray.Builder();
        foreach (var value in values)
        {
            if (value is null)
            {
                builder.AppendNull();
            }
            else
            {
                builder.Append(value is string text ? double.Parse(text, CultureInfo.InvariantCulture) : Convert.ToDouble(value, CultureInfo.InvariantCulture));
            }
        }

        return builder.Build();
    }

    private static BooleanArray Booleans(IEnumerable<object?> values)
    {
        var builder = new BooleanArray.Builder();
        foreach (var value in values)
        {
            if (value is null)
            {
                builder.AppendNull();
            }
            else
            {
                builder.Append(value is string text ? text is "t" or "true" or "1" : Convert.ToInt64(value, CultureInfo.InvariantCulture) != 0);
            }
        }

        return builder.Build();
    }

    private static BinaryArray Binaries(IEnumerable<object?> values)
    {
        var builder = new BinaryArray.Builder();
        foreach (var value in values)
        {
            if (value is byte[] bytes)
            {
                builder.Append(bytes.AsSpan());
            }
            else if (value is string hex && hex.StartsWith("\\x", StringComparison.Ordinal))
            {
                builder.Append(Convert.FromHexString(hex[2..]).AsSpan()); // PostgreSQL bytea as JSON text
            }
            else
            {
                builder.AppendNull();
            }
        }

        return builder.Build();
    }

    private static StringArray Strings(IEnumerable<object?> values)
    {
        var builder = new StringArray.Builder();
        foreach (var value in values)
        {
            builder.Append(value switch
            {
                null => null,
                string text => text,
                IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString(),
            });
        }

        return builder.Build();
    }
}
