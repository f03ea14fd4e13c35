using System.Text.Json.Nodes;

namespace Khonsu.Cli.InDoubt;

/// <summary>In-doubt transactions as JSON for scripts.</summary>
internal static class InDoubtJson
{
    public static JsonArray Array(IReadOnlyList<InDoubtTransaction> inDoubt, DateTimeOffset now, TimeSpan lease)
        => new(inDoubt.Select(t => (JsonNode)new JsonObject
        {
            ["txId"] = t.Id.ToString(),
            ["decision"] = t.Decision,
            ["since"] = t.Since.UtcDateTime,
            ["ageSeconds"] = Math.Round(t.Age(now).TotalSeconds, 3),
            ["position"] = t.Position,
            ["leaseEndsInSeconds"] = t.Decision is null ? Math.Round(Math.Max(0, (lease - t.Age(now)).TotalSeconds), 3) : null,
            ["participants"] = new JsonArray(t.Participants.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Name,
                ["state"] = p.State,
                ["rows"] = p.Rows,
                ["note"] = p.Note,
            }).ToArray()),
        }).ToArray());
}
