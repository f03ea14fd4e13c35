using System.Globalization;
using System.Text;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka;

/// <summary>
/// Turns a record of the Kafka log (its message value, e.g. as <c>kcat -f '%s'</c> prints it)
/// into text for a human. The value is <see cref="LogRecordCodec"/>'s format; the key is the
/// transaction id as text.
/// </summary>
internal static class KafkaLogRecordFormat
{
    /// <summary>
    /// One line for the record (kind, transaction, node, times, reason, operation), then one line
    /// per participant and per written row. A value that does not decode gives a line that says
    /// why, never an exception, so a tool can go on with the next record.
    /// </summary>
    public static string Describe(ReadOnlySpan<byte> value)
    {
        LogRecord record;
        try
        {
            record = LogRecordCodec.Decode(value);
        }
        catch (InvalidDataException error)
        {
            return $"UNREADABLE ({value.Length} bytes): {error.Message}";
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{record.Kind.ToString().ToUpperInvariant()} tx={record.TransactionId} node={record.NodeId} at={record.Timestamp:O}");
        if (record.StartedAt is { } started)
        {
            text.Append(CultureInfo.InvariantCulture, $" started={started:O}");
        }

        if (record.Reason is { } reason)
        {
            text.Append(CultureInfo.InvariantCulture, $" reason=\"{reason}\"");
        }

        if (record.Operation is { } operation)
        {
            text.Append(CultureInfo.InvariantCulture, $" operation=\"{operation}\"");
        }

        if (record.Certification is { } certification)
        {
            var reads = certification.Reads.Count == 0 ? "nothing" : string.Join(", ", certification.Reads);
            text.Append(CultureInfo.InvariantCulture, $"\n  certify{(record.IsReadOnlyCertification ? " (read-only transaction, no participants)" : string.Empty)}: snapshot @{certification.Snapshot} {(certification.Serializable ? "serializable" : "snapshot")}{(certification.SeveralSnapshots ? ", snapshots on several backends" : string.Empty)}; read {reads}");
        }

        foreach (var vote in record.Participants)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n  participant {vote.Participant}{(vote.NeedsRedo ? " (redo from log)" : string.Empty)}: {vote.Writes.Count} write(s)");
            foreach (var write in vote.Writes)
            {
                text.Append(CultureInfo.InvariantCulture, $"\n    {write.Kind} {write.Table}[{write.Key}] version {write.OldVersion?.ToString(CultureInfo.InvariantCulture) ?? "-"} -> {write.NewVersion?.ToString(CultureInfo.InvariantCulture) ?? "-"}{(write.LastWriterWins ? " (last writer wins)" : string.Empty)}");
                if (write.Image is { } image)
                {
                    text.Append(" image {");
                    for (var c = 0; c < image.Columns.Count; c++)
                    {
                        text.Append(c == 0 ? string.Empty : ", ").Append(image.Columns[c]).Append('=').Append(Value(image.Values[c]));
                    }

                    text.Append('}');
                }
            }
        }

        return text.ToString();
    }

    private static string Value(object? value) => value switch
    {
        null => "NULL",
        string s => "'" + s + "'",
        byte[] bytes => "x'" + Convert.ToHexString(bytes) + "'",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary><see cref="Describe(ReadOnlySpan{byte})"/> prefixed with the record's offset and key, as a log listing shows it.</summary>
    public static string Describe(long offset, string? key, ReadOnlySpan<byte> value)
        => $"@{offset.ToString(CultureInfo.InvariantCulture)} key={key ?? "(none)"} {Describe(value)}";
}
