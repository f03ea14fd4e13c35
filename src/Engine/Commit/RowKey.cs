using System.Globalization;
using System.Text;

namespace Khonsu.Engine.Commit;

/// <summary>
/// Canonical text of a primary key, so the same row has the same key whichever backend or
/// process captured it. Composite keys join their parts with a unit separator.
/// </summary>
public static class RowKey
{
    private const char Separator = '\u001f';

    /// <summary>The canonical text of a key whose column values are <paramref name="values"/>, in key-column order.</summary>
    public static string Format(IReadOnlyList<object?> values)
    {
        if (values.Count == 1)
        {
            return FormatOne(values[0]);
        }

        var text = new StringBuilder();
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                text.Append(Separator);
            }

            text.Append(FormatOne(values[i]));
        }

        return text.ToString();
    }

    private static string FormatOne(object? value) => value switch
    {
        null or DBNull => "\u2400",
        byte[] bytes => Convert.ToHexString(bytes),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
