using System.Text.Json;
using Khonsu.Engine.Commit;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// Row images of the tables a mirror follows (<c>Follow.&lt;backend&gt;</c>): their capture trigger,
/// named <see cref="ImageTrigger"/>, keeps the row as JSON in the capture table, and the vote hands it
/// to the log as a <see cref="RowImage"/>. Other tables keep no image: they pay nothing for mirrors.
/// </summary>
internal static class PostgresRowImages
{
    /// <summary>The capture trigger's name on a followed table (<c>khonsu_capture</c> elsewhere).</summary>
    public const string ImageTrigger = "khonsu_capture_image";

    /// <summary>
    /// Adds the image column to a capture table an older build created. Only when it is missing:
    /// ALTER TABLE would wait for the locks of prepared transactions that recovery has yet to finish.
    /// </summary>
    public const string AddImageColumn = $"""
        DO $add$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '{Schema}.capture'::regclass AND attname = 'image' AND NOT attisdropped) THEN
                ALTER TABLE {Schema}.capture ADD COLUMN image jsonb;
            END IF;
        END $add$;
        """;

    /// <summary>
    /// The row the capture trigger kept, as the log carries it: JSON numbers become long (integral)
    /// or double, booleans 1 or 0, strings (dates, times, numerics written as text) strings, nested
    /// JSON (json, jsonb, arrays) its text.
    /// </summary>
    public static RowImage Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var columns = new List<string>();
        var values = new List<object?>();
        foreach (var property in document.RootElement.EnumerateObject())
        {
            columns.Add(property.Name);
            values.Add(ValueOf(property.Value));
        }

        return new RowImage(columns, values);
    }

    private static object? ValueOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => 1L,
        JsonValueKind.False => 0L,
        JsonValueKind.Number => value.TryGetInt64(out var integer) ? integer : value.GetDouble(),
        JsonValueKind.String => value.GetString(),
        _ => value.GetRawText(),
    };
}
