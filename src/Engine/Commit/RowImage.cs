namespace Khonsu.Engine.Commit;

/// <summary>
/// Column values of one row as a backend stored them, for redo. Values are limited to what
/// every backend can round-trip through the log: null, long, double, string and byte[].
/// </summary>
public sealed record RowImage(IReadOnlyList<string> Columns, IReadOnlyList<object?> Values)
{
    /// <summary>The value of <paramref name="column"/> (named case-insensitively).</summary>
    /// <exception cref="KeyNotFoundException">The row has no such column.</exception>
    public object? this[string column]
    {
        get
        {
            for (var i = 0; i < Columns.Count; i++)
            {
                if (string.Equals(Columns[i], column, StringComparison.OrdinalIgnoreCase))
                {
                    return Values[i];
                }
            }

            throw new KeyNotFoundException($"Column '{column}' is not in the row image.");
        }
    }
}
