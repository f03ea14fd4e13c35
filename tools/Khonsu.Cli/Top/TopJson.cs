using System.Text.Json.Nodes;
using Khonsu.Cli.InDoubt;
using Khonsu.Cli.LogView;

namespace Khonsu.Cli.Top;

/// <summary>A <see cref="TopFrame"/> as one JSON object (<c>khonsu top --json</c> writes one per line).</summary>
internal static class TopJson
{
    public static JsonObject Of(TopFrame frame)
    {
        var figures = frame.Activity;
        return new JsonObject
        {
            ["at"] = frame.At,
            ["log"] = frame.Log,
            ["lastPosition"] = frame.LastPosition,
            ["undecodableRecords"] = frame.Undecodable,
            ["windowSeconds"] = figures.Window.TotalSeconds,
            ["commits"] = figures.Commits,
            ["aborts"] = figures.Aborts,
            ["commitsPerSecond"] = figures.CommitsPerSecond,
            ["abortsPerSecond"] = figures.AbortsPerSecond,
            ["abortsByReason"] = new JsonArray(figures.AbortsByReason.Select(a => (JsonNode)new JsonObject
            {
                ["reason"] = a.Reason,
                ["count"] = a.Count,
                ["perSecond"] = a.PerSecond,
            }).ToArray()),
            ["latency"] = new JsonArray(figures.Phases.Select(p => (JsonNode)new JsonObject
            {
                ["phase"] = p.Phase,
                ["count"] = p.Count,
                ["p50Ms"] = p.P50?.TotalMilliseconds,
                ["p95Ms"] = p.P95?.TotalMilliseconds,
                ["p99Ms"] = p.P99?.TotalMilliseconds,
                ["maxMs"] = p.Max?.TotalMilliseconds,
            }).ToArray()),
            ["backends"] = new JsonArray(frame.Backends.Select(b => (JsonNode)new JsonObject
            {
                ["name"] = b.Backend.Name,
                ["kind"] = b.Backend.Kind,
                ["reachable"] = b.Reachable,
                ["error"] = b.Problem,
            }).ToArray()),
            ["inDoubtAfterSeconds"] = frame.InDoubtAfter.TotalSeconds,
            ["inDoubt"] = frame.InDoubt is null ? null : InDoubtJson.Array(frame.Stuck, InDoubtCategory.InDoubt, frame.At, frame.PrepareLease),
            ["toRollBack"] = frame.InDoubt is null ? null : InDoubtJson.Array(frame.Stuck, InDoubtCategory.ToRollBack, frame.At, frame.PrepareLease),
            ["committing"] = frame.InDoubt is null ? null : frame.Committing,
            ["logEnd"] = frame.Lag?.End,
            ["processes"] = frame.Lag is { } lag ? ProcessLagView.Json(lag.Processes) : null,
            ["error"] = frame.Problem,
        };
    }
}
