using System.Globalization;
using System.Text.Json.Nodes;
using Khonsu.Cli.Infrastructure;
using Khonsu.Engine.Log;
using Khonsu.Log.Kafka;

namespace Khonsu.Cli.LogView;

/// <summary>
/// The processes of a Kafka log as they published themselves (<see cref="KafkaLogLag"/>): read,
/// and shown as text or JSON, for `khonsu log lag` and `khonsu status`.
/// </summary>
internal static class ProcessLagView
{
    /// <summary>Null for a log that is not a Kafka log (an embedded log has one process, the one holding it).</summary>
    public static async Task<(long End, IReadOnlyList<KafkaProcessLag> Processes)?> ReadAsync(ICommitLog log, CancellationToken cancellationToken)
    {
        if (log is not KafkaCommitLog kafka)
        {
            return null;
        }

        try
        {
            return await KafkaLogLag.ReadAsync(kafka, cancellationToken).ConfigureAwait(false);
        }
        catch (CommitLogUnavailableException error)
        {
            throw new CliException(ExitCodes.Unreachable, error.Message, error);
        }
    }

    public static JsonArray Json(IReadOnlyList<KafkaProcessLag> processes)
        => new(processes.Select(p => (JsonNode)new JsonObject
        {
            ["process"] = p.Position.Process,
            ["appliedPosition"] = p.Position.Applied,
            ["checkpointPosition"] = p.Position.Checkpoint,
            ["lagRecords"] = p.Records,
            ["lagSeconds"] = Math.Round(p.Behind.TotalSeconds, 3),
            ["publishedAt"] = Text.Timestamp(p.Position.PublishedAt),
            ["publishedSecondsAgo"] = Math.Round(p.Silence.TotalSeconds, 3),
        }).ToArray());

    /// <summary>One header line and one line per process, indented by <paramref name="indent"/>.</summary>
    public static async Task WriteAsync(TextWriter output, long end, IReadOnlyList<KafkaProcessLag> processes, string indent)
    {
        if (processes.Count == 0)
        {
            await output.WriteLineAsync($"{indent}no process publishes its position (none is open, or all run a version before positions, or set Kafka.PositionSeconds=0)").ConfigureAwait(false);
            return;
        }

        string[] header = ["process", "applied", "checkpoint", "lag records", "lag", "published"];
        var rows = processes.Select(p => new[]
        {
            p.Position.Process,
            p.Position.Applied is { } applied ? Text.Invariant(applied) : "none",
            p.Position.Checkpoint is { } checkpoint ? Text.Invariant(checkpoint) : "none",
            Text.Invariant(p.Records),
            Seconds(p.Behind),
            Seconds(p.Silence) + " ago",
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        await output.WriteLineAsync(indent + string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd()).ConfigureAwait(false);
        foreach (var row in rows)
        {
            await output.WriteLineAsync(indent + string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd()).ConfigureAwait(false);
        }

        await output.WriteLineAsync($"{indent}(log end: offset {Text.Invariant(end)}; lag: records after the last one applied, and how long the oldest of them has been in the log)").ConfigureAwait(false);
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
