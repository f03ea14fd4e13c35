using System.Text.Json;

namespace Khonsu.Data.Backends;

/// <summary>
/// Reads the key values a capture trigger recorded as a JSON array (SQLite's json_array,
/// PostgreSQL's jsonb_build_array), so every backend turns the same key into the same values.
/// </summary>
public static class CapturedKey
{
    /// <summary>The key values in <paramref name="keyJson"/>, in column order: integers as <see cref="long"/>, other numbers as <see cref="double"/>, strings, nulls, and anything else as its raw JSON text.</summary>
    public static IReadOnlyList<object?> Parse(string keyJson)
    {
        using var document = JsonDocument.Parse(keyJson);
        return document.RootElement.EnumerateArray().Select(Value).ToList();
    }

    private static object? Value(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Number when element.TryGetInt64(out var integer) => integer,
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.String => element.GetString(),
        _ => element.GetRawText(),
    };
}
