using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Khonsu.Cli.InDoubt;
using Khonsu.Cli.Infrastructure;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.LogView;

/// <summary>Decoded log records as one text line, as a detailed block, or as JSON.</summary>
internal static class LogRecordText
{
    private const int MaxValueLength = 40;

    public static string Line(LoggedRecord logged)
    {
        var record = logged.Record;
        var text = new StringBuilder()
            .Append('#').Append(Text.Invariant(logged.Position.Value))
            .Append("  ").Append(Text.Timestamp(record.Timestamp))
            .Append("  ").Append(InDoubtScanner.KindText(record.Kind).PadRight(6))
            .Append("  ").Append(record.TransactionId)
            .Append("  node=").Append(record.NodeId);
        if (record.Participants.Count > 0)
        {
            text.Append("  ").Append(string.Join(", ", record.Participants.Select(p => Participant(p, record.Kind))));
        }

        if (record.Reason is not null)
        {
            text.Append("  reason: ").Append(record.Reason);
        }

        return text.ToString();
    }

    public static IEnumerable<string> Block(LoggedRecord logged, bool values, int maxRows)
    {
        var record = logged.Record;
        yield return $"#{Text.Invariant(logged.Position.Value)}  {InDoubtScanner.KindText(record.Kind)}  at {Text.Timestamp(record.Timestamp)}  node={record.NodeId}";
        if (record.StartedAt is { } started)
        {
            yield return $"    started at {Text.Timestamp(started)}";
        }

        if (record.Operation is not null)
        {
            yield return $"    operation: {record.Operation}";
        }

        if (record.Reason is not null)
        {
            yield return $"    reason: {record.Reason}";
        }

        foreach (var vote in record.Participants)
        {
            yield return "    " + Participant(vote, record.Kind);
            foreach (var write in vote.Writes.Take(maxRows))
            {
                yield return "      " + Write(write, values);
            }

            if (vote.Writes.Count > maxRows)
            {
                yield return $"      ... and {Text.Invariant(vote.Writes.Count - maxRows)} more (--max-rows)";
            }
        }
    }

    public static JsonObject Json(LoggedRecord logged, bool values)
    {
        var record = logged.Record;
        return new JsonObject
        {
            ["position"] = logged.Position.Value,
            ["kind"] = InDoubtScanner.KindText(record.Kind),
            ["txId"] = record.TransactionId.ToString(),
            ["node"] = record.NodeId,
            ["timestamp"] = record.Timestamp.UtcDateTime,
            ["startedAt"] = record.StartedAt?.UtcDateTime,
            ["operation"] = record.Operation,
            ["reason"] = record.Reason,
            ["participants"] = new JsonArray(record.Participants.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Participant,
                ["needsRedo"] = p.NeedsRedo,
                ["rows"] = p.Writes.Count,
                ["writes"] = new JsonArray(p.Writes.Select(w => (JsonNode)WriteJson(w, values)).ToArray()),
            }).ToArray()),
        };
    }

    public static string Undecodable(long position, Exception error) => $"#{Text.Invariant(position)}  cannot decode this record: {KhonsuTarget.OneLine(error)}";

    private static string Participant(ParticipantVote vote, LogRecordKind kind)
    {
        if (kind != LogRecordKind.Commit)
        {
            return vote.Participant;
        }

        var redo = vote.NeedsRedo ? ", row images for redo" : string.Empty;
        return $"{vote.Participant} ({Text.Plural(vote.Writes.Count, "row")}{redo})";
    }

    private static string Write(RowWrite write, bool values)
    {
        var versions = $"version {Version(write.OldVersion)} -> {Version(write.NewVersion)}";
        var text = $"{write.Kind.ToString().ToUpperInvariant()} {write.Table} [{Printable(write.Key)}] {versions}{(write.LastWriterWins ? " (last writer wins)" : string.Empty)}";
        if (write.Image is { } image)
        {
            text += values
                ? "  image: " + string.Join(", ", image.Columns.Select((c, i) => $"{c}={Value(image.Values[i])}"))
                : $"  image: {Text.Plural(image.Columns.Count, "column")} ({string.Join(", ", image.Columns)})";
        }

        return text;
    }

    private static JsonObject WriteJson(RowWrite write, bool values)
    {
        var json = new JsonObject
        {
            ["kind"] = write.Kind.ToString().ToUpperInvariant(),
            ["table"] = write.Table,
            ["key"] = write.Key,
            ["oldVersion"] = write.OldVersion,
            ["newVersion"] = write.NewVersion,
            ["lastWriterWins"] = write.LastWriterWins,
        };
        if (write.Image is { } image)
        {
            json["imageColumns"] = new JsonArray(image.Columns.Select(c => (JsonNode)JsonValue.Create(c)).ToArray());
            if (values)
            {
                json["imageValues"] = new JsonArray(image.Values.Select(v => (JsonNode?)(v is null ? null : JsonValue.Create(Value(v)))).ToArray());
            }
        }

        return json;
    }

    private static string Version(long? version) => version is { } v ? Text.Invariant(v) : "none";

    private static string Printable(string key) => key.Replace('\u001f', ',');

    private static string Value(object? value)
    {
        var text = value switch
        {
            null => "NULL",
            byte[] bytes => "x'" + Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, MaxValueLength / 2))) + (bytes.Length > MaxValueLength / 2 ? "...'" : "'"),
            string s => "'" + s + "'",
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };
        return text.Length > MaxValueLength ? text[..MaxValueLength] + "..." : text;
    }
}
