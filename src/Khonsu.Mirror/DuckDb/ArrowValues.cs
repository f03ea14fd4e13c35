using Apache.Arrow;

namespace Khonsu.Mirror.DuckDb;

/// <summary>One value of a change batch's column, as the CLR value DuckDB takes.</summary>
internal static class ArrowValues
{
    public static object? Get(IArrowArray array, int row)
    {
        if (array.IsNull(row))
        {
            return null;
        }

        return array switch
        {
            Int64Array integers => integers.GetValue(row),
            DoubleArray reals => reals.GetValue(row),
            BooleanArray booleans => booleans.GetValue(row),
            StringArray texts => texts.GetString(row),
            BinaryArray blobs => blobs.GetBytes(row).ToArray(),
            _ => throw new NotSupportedException($"The mirror cannot store an Arrow {array.Data.DataType.Name} value."),
        };
    }
}
