using Khonsu.Cli.Infrastructure;

namespace Khonsu.Cli.InDoubt;

/// <summary>Unfinished transactions as text for an operator: what is in doubt, then what is aborted and still to roll back.</summary>
internal static class InDoubtText
{
    public static async Task WriteAsync(TextWriter output, IReadOnlyList<InDoubtTransaction> unfinished, DateTimeOffset now, TimeSpan lease)
    {
        var inDoubt = unfinished.Where(t => t.Category == InDoubtCategory.InDoubt).ToList();
        var toRollBack = unfinished.Where(t => t.Category == InDoubtCategory.ToRollBack).ToList();
        await output.WriteLineAsync(inDoubt.Count == 0 ? "In doubt: none" : $"In doubt: {Text.Plural(inDoubt.Count, "transaction")}").ConfigureAwait(false);
        await WriteListAsync(output, inDoubt, now, lease).ConfigureAwait(false);
        if (toRollBack.Count > 0)
        {
            await output.WriteLineAsync($"To roll back: {Text.Plural(toRollBack.Count, "transaction")} (aborted, still prepared on a backend; recovery rolls them back)").ConfigureAwait(false);
            await WriteListAsync(output, toRollBack, now, lease).ConfigureAwait(false);
        }
    }

    public static string Describe(InDoubtTransaction transaction, DateTimeOffset now, TimeSpan lease)
    {
        var age = Text.Age(transaction.Age(now));
        if (transaction.Decision is null)
        {
            if (transaction.AbortsAtOnce)
            {
                return $"prepared {age} ago, no decision logged; the process holding the log aborts it at its next recovery pass (at its start, or khonsu recover while it is stopped)";
            }

            var left = lease - transaction.Age(now);
            var leaseText = left > TimeSpan.Zero ? $"recovery aborts it when the lease ends in {Text.Age(left)}" : "lease over: recovery aborts it";
            return $"prepared {age} ago, no decision logged; {leaseText}";
        }

        return transaction.Category == InDoubtCategory.ToRollBack
            ? $"{transaction.Decision} logged {age} ago at position {Text.Invariant(transaction.Position ?? 0)}, still prepared: recovery rolls it back"
            : $"{transaction.Decision} logged {age} ago at position {Text.Invariant(transaction.Position ?? 0)}, not finished";
    }

    private static async Task WriteListAsync(TextWriter output, IReadOnlyList<InDoubtTransaction> transactions, DateTimeOffset now, TimeSpan lease)
    {
        foreach (var transaction in transactions)
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
}
