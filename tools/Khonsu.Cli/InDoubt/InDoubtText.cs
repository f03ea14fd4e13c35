using Khonsu.Cli.Infrastructure;

namespace Khonsu.Cli.InDoubt;

/// <summary>In-doubt transactions as text for an operator.</summary>
internal static class InDoubtText
{
    public static async Task WriteAsync(TextWriter output, IReadOnlyList<InDoubtTransaction> inDoubt, DateTimeOffset now, TimeSpan lease)
    {
        if (inDoubt.Count == 0)
        {
            await output.WriteLineAsync("In doubt: none").ConfigureAwait(false);
            return;
        }

        await output.WriteLineAsync($"In doubt: {Text.Plural(inDoubt.Count, "transaction")}").ConfigureAwait(false);
        foreach (var transaction in inDoubt)
        {
            await output.WriteLineAsync($"  {transaction.Id}  {Describe(transaction, now, lease)}").ConfigureAwait(false);
            var width = transaction.Participants.Count == 0 ? 0 : transaction.Participants.Max(p => p.Name.Length);
            var stateWidth = transaction.Participants.Count == 0 ? 0 : transaction.Participants.Max(p => p.State.Length);
            foreach (var participant in transaction.Participants)
            {
                var rows = participant.Rows is { } count ? "  " + Text.Plural(count, "row") : string.Empty;
                var note = participant.Note is null ? string.Empty : "  (" + participant.Note + ")";
                await output.WriteLineAsync($"    {participant.Name.PadRight(width)}  {participant.State.PadRight(stateWidth)}{rows}{note}").ConfigureAwait(false);
            }
        }
    }

    public static string Describe(InDoubtTransaction transaction, DateTimeOffset now, TimeSpan lease)
    {
        var age = Text.Age(transaction.Age(now));
        if (transaction.Decision is null)
        {
            var left = lease - transaction.Age(now);
            var leaseText = left > TimeSpan.Zero ? $"recovery aborts it when the lease ends in {Text.Age(left)}" : "lease over: recovery aborts it";
            return $"prepared {age} ago, no decision logged; {leaseText}";
        }

        return $"{transaction.Decision} logged {age} ago at position {Text.Invariant(transaction.Position ?? 0)}, not finished";
    }
}
