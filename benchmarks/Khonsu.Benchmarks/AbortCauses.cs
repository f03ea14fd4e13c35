using System.Collections.Concurrent;

namespace Khonsu.Benchmarks;

/// <summary>
/// Why the attempts of a Khonsu run aborted, by the words of the error: which certifier rule
/// refused it, or the participant's own validation (a row read changed, a lock held). The
/// figures that choose where false aborts are worth removing (issue 17 item 2).
/// </summary>
internal sealed class AbortCauses
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>Counts <paramref name="error"/> under its cause.</summary>
    public void Count(Exception error)
        => _counts.AddOrUpdate(CauseOf(error.Message), 1, (_, count) => count + 1);

    /// <summary>Each cause with its count, largest first.</summary>
    public override string ToString()
        => _counts.IsEmpty ? "none" : string.Join(", ", _counts.OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value}"));

    private static string CauseOf(string message) => message switch
    {
        _ when message.Contains("dangerous structure with this transaction as pivot", StringComparison.Ordinal) => "certifier: pivot",
        _ when message.Contains("dangerous structure with", StringComparison.Ordinal) => "certifier: reader of a committed pivot",
        _ when message.Contains("write-write conflict", StringComparison.Ordinal) => "certifier: write-write",
        _ when message.Contains("fractured read", StringComparison.Ordinal) => "certifier: fractured read",
        _ when message.Contains("older than what the certifier remembers", StringComparison.Ordinal) => "certifier: summary",
        _ => "other: " + Shape(message),
    };

    /// <summary>The message without its ids, numbers and quoted values, cut short: one line per kind of refusal.</summary>
    private static string Shape(string message)
    {
        var shape = System.Text.RegularExpressions.Regex.Replace(message, @"[0-9a-f]{8}-[0-9a-f-]{27}|'[^']*'|\d+", "#");
        return shape.Length <= 90 ? shape : shape[..90] + "...";
    }
}
