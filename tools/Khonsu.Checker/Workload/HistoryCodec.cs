using System.Text.Json;
using System.Text.Json.Serialization;
using Khonsu.Checker.History;

namespace Khonsu.Checker.Workload;

/// <summary>History events as JSON lines: how child processes report to the runner, and the run's history file.</summary>
public static class HistoryCodec
{
    private static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Encode(HistoryEvent historyEvent) => JsonSerializer.Serialize(historyEvent, Options);

    /// <summary>The event on a line, or null for anything else (a line cut short by SIGKILL, other output).</summary>
    public static HistoryEvent? TryDecode(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<HistoryEvent>(line, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
