using System.Globalization;
using Khonsu.Cli.InDoubt;
using Khonsu.Cli.Infrastructure;
using Khonsu.Log.Kafka;
using Spectre.Console;
using Spectre.Console.Rendering;
using Text = Khonsu.Cli.Infrastructure.Text;

namespace Khonsu.Cli.Top;

/// <summary>
/// A <see cref="TopFrame"/> drawn with Spectre.Console: live in a terminal, and as plain text,
/// one frame after another, when the output is not a terminal.
/// </summary>
internal static class TopScreen
{
    /// <summary>How many transactions in doubt are listed; the count says how many more there are.</summary>
    private const int InDoubtShown = 10;

    public static IRenderable Render(TopFrame frame, bool interactive)
    {
        var figures = frame.Activity;
        var header = $"[bold]khonsu top[/]  {Markup.Escape(frame.Log)}  position {(frame.LastPosition is { } last ? Text.Invariant(last) : "none")}  " +
                     $"{Text.Timestamp(frame.At)}  window {Seconds(figures.Window)}{(interactive ? "  [grey](q to quit)[/]" : string.Empty)}";
        var parts = new List<IRenderable> { new Markup(header), Backends(frame) };
        if (frame.Problem is { } problem)
        {
            parts.Add(new Markup("[red]" + Markup.Escape(problem) + "[/]"));
        }

        if (frame.Undecodable > 0)
        {
            parts.Add(new Markup($"[red]{Text.Plural(frame.Undecodable, "record")} did not decode (see khonsu log tail)[/]"));
        }

        var total = figures.CommitsPerSecond + figures.AbortsPerSecond;
        var abortShare = total > 0 ? $" ({(figures.AbortsPerSecond / total).ToString("0.0%", CultureInfo.InvariantCulture)})" : string.Empty;
        parts.Add(new Markup($"[bold]commits/s[/] {Rate(figures.CommitsPerSecond)}   [bold]aborts/s[/] {Rate(figures.AbortsPerSecond)}{abortShare}   " +
                             "[grey](decided in the log: writes on two backends or more, and aborts at commit)[/]"));
        parts.Add(Aborts(figures));
        parts.Add(Latency(figures));
        parts.Add(InDoubt(frame));
        if (frame.Lag is { } lag)
        {
            parts.Add(Processes(lag.End, lag.Processes));
        }

        return new Rows(parts);
    }

    private static Markup Backends(TopFrame frame)
        => new(frame.Backends.Count == 0
            ? "backends: [grey]not probed yet[/]"
            : "backends: " + string.Join("  ", frame.Backends.Select(b =>
                $"{Markup.Escape(b.Backend.Name)} {b.Backend.Kind} {(b.Reachable ? "[green]reachable[/]" : "[red]UNREACHABLE[/]")}")));

    private static Table Aborts(ActivityFigures figures)
    {
        var table = new Table { Title = new TableTitle("aborts by reason"), Border = TableBorder.Simple };
        table.AddColumn(new TableColumn("aborts/s").RightAligned());
        table.AddColumn(new TableColumn("count").RightAligned());
        table.AddColumn("reason");
        foreach (var abort in figures.AbortsByReason)
        {
            table.AddRow(Rate(abort.PerSecond), Text.Invariant(abort.Count), Markup.Escape(abort.Reason));
        }

        if (figures.AbortsByReason.Count == 0)
        {
            table.AddRow("0", "0", "[grey]none in the window[/]");
        }

        return table;
    }

    private static Table Latency(ActivityFigures figures)
    {
        var table = new Table { Title = new TableTitle("latency of committed transactions"), Border = TableBorder.Simple };
        table.AddColumn("phase");
        foreach (var column in new[] { "count", "p50", "p95", "p99", "max" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var phase in figures.Phases)
        {
            table.AddRow(phase.Phase, Text.Invariant(phase.Count), Millis(phase.P50), Millis(phase.P95), Millis(phase.P99), Millis(phase.Max));
        }

        return table;
    }

    private static IRenderable InDoubt(TopFrame frame)
    {
        if (frame.InDoubt is null)
        {
            return new Markup("in doubt: [grey]not scanned yet[/]");
        }

        var open = frame.Stuck;
        var committing = frame.Committing == 0 ? string.Empty
            : $"  [grey]({Text.Plural(frame.Committing, "transaction")} between prepare and end for less than {Seconds(frame.InDoubtAfter)}: committing now)[/]";
        if (open.Count == 0)
        {
            return new Markup("in doubt: [green]none[/]" + committing);
        }

        var table = new Table { Title = new TableTitle($"in doubt or to roll back for {Seconds(frame.InDoubtAfter)} or more: {open.Count}"), Border = TableBorder.Simple };
        table.AddColumn("transaction");
        table.AddColumn("participants");
        table.AddColumn("state");
        foreach (var transaction in open.Take(InDoubtShown))
        {
            table.AddRow(
                transaction.Id.ToString(),
                Markup.Escape(string.Join(", ", transaction.Participants.Select(p => $"{p.Name} {p.State}"))),
                Markup.Escape(InDoubtText.Describe(transaction, frame.At, frame.PrepareLease)));
        }

        if (open.Count > InDoubtShown)
        {
            table.AddRow($"… {open.Count - InDoubtShown} more (khonsu status lists them all)", string.Empty, string.Empty);
        }

        return table;
    }

    /// <summary>A Kafka log's processes, as <c>khonsu log lag</c> shows them.</summary>
    private static IRenderable Processes(long end, IReadOnlyList<KafkaProcessLag> processes)
    {
        if (processes.Count == 0)
        {
            return new Markup("processes: [grey]none publishes its position[/]");
        }

        var table = new Table { Title = new TableTitle($"processes of the Kafka log (end: offset {Text.Invariant(end)})"), Border = TableBorder.Simple };
        table.AddColumn("process");
        foreach (var column in new[] { "applied", "lag records", "lag", "published" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var process in processes)
        {
            table.AddRow(
                Markup.Escape(process.Position.Process),
                process.Position.Applied is { } applied ? Text.Invariant(applied) : "none",
                Text.Invariant(process.Records),
                Seconds(process.Behind),
                Seconds(process.Silence) + " ago");
        }

        return table;
    }

    private static string Rate(double perSecond) => perSecond.ToString(perSecond >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";

    private static string Millis(TimeSpan? span) => span is { } value ? value.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms" : "-";
}
