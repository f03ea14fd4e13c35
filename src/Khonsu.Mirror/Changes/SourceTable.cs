using Apache.Arrow.Types;

namespace Khonsu.Mirror.Changes;

/// <summary>A followed table as its source database declares it: its columns with their Arrow types, and its key columns.</summary>
internal sealed record SourceTable(string Backend, string Table, IReadOnlyList<SourceColumn> Columns, IReadOnlyList<string> KeyColumns)
{
    public int IndexOf(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i].Name, column, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>A source column and the Arrow type the stream gives it.</summary>
internal sealed record SourceColumn(string Name, IArrowType Type);
