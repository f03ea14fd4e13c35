using System.Text.Json.Nodes;

namespace Khonsu.Cli.InDoubt;

/// <summary>Unfinished transactions as JSON for scripts.</summary>
internal static class InDoubtJson
{
    /// <summary>The transactions of one <paramref name="category"/> (closed aborts are never listed: there is nothing to see).</summary>
    public static JsonArray Array(IReadOnlyList<InDoubtTransaction> unfinished, InDoubtCategory category, DateTimeOffset now, TimeSpan lease)
        => new(unfinished.Where(t => t.Category == category).Select(t => (JsonNode)new JsonObject
        {
            ["txId"] = t.Id.ToString(),
            ["decision"] = t.Decision,
            ["since"] = t.Since.UtcDateTime,
            ["ageSeconds"] = Math.Round(t.Age(now).TotalSeconds, 3),
            ["position"] = t.Position,
            ["leaseEndsInSeconds"] = t.Decision is null && !t.AbortsAtOnce ? Math.Round(Math.Max(0, (lease - t.Age(now)).TotalSeconds), 3) : null,
            ["abortsAtOnce"] = t.Decision is null ? t.AbortsAtOnce : null,
            ["participants"] = new JsonArray(t.Participants.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Name,
                ["state"] = p.State,
                ["rows"] = p.Rows,
                ["note"] = p.Note,
            }).ToArray()),
        }).ToArray());
}
