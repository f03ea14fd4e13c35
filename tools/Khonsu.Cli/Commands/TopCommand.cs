using System.CommandLine;
using Khonsu.Cli.Infrastructure;
using Khonsu.Cli.Top;
using Spectre.Console;

namespace Khonsu.Cli.Commands;

/// <summary>
/// `khonsu top`: a live view of a running application, from another process. It reads the commit
/// log and the backends (as status does), never the application's memory, so it needs nothing
/// from the application but its connection string.
/// </summary>
internal static class TopCommand
{
    /// <summary>How often a terminal's keys are looked at between refreshes.</summary>
    private static readonly TimeSpan KeyPoll = TimeSpan.FromMilliseconds(50);

    private static readonly Option<double> Interval = new("--interval", "-n")
    {
        Description = "Seconds between refreshes.",
        HelpName = "seconds",
        DefaultValueFactory = _ => 1,
    };

    private static readonly Option<double> Window = new("--window", "-w")
    {
        Description = "Seconds of the log that rates and percentiles are taken over.",
        HelpName = "seconds",
        DefaultValueFactory = _ => 10,
    };

    private static readonly Option<double> InDoubtAfter = new("--in-doubt-after")
    {
        Description = "Seconds a transaction stays between prepare and end before it is shown as in doubt (younger ones are counted as committing now).",
        HelpName = "seconds",
        DefaultValueFactory = _ => 5,
    };

    private static readonly Option<int> Count = new("--count")
    {
        Description = "Stop after this many refreshes (0: until q, Esc or Ctrl-C).",
        HelpName = "refreshes",
        DefaultValueFactory = _ => 0,
    };

    public static Command Create()
    {
        var command = new Command(
            "top",
            "A live view of the application from outside it: commits/s and aborts/s by reason, latency percentiles by phase (begin to decision, decision " +
            "to end) over a sliding window, the backends, and transactions in doubt. Read from the commit log and the backends while the application runs, " +
            "so it changes nothing. The log holds the transactions that went through two-phase commit (writes on two backends or more) and every abort " +
            "decided at commit; one that wrote on one backend commits there alone and is not counted. Quit with q, Esc or Ctrl-C. When stdout is not a " +
            "terminal it prints one frame per refresh (with --json, one JSON object per line).")
        {
            Interval,
            Window,
            InDoubtAfter,
            Count,
        };
        Interval.Validators.Add(result => Positive(result, "--interval"));
        Window.Validators.Add(result => Positive(result, "--window"));
        InDoubtAfter.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() < 0)
            {
                result.AddError("--in-doubt-after must be a number of seconds, 0 or more.");
            }
        });
        Count.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
            {
                result.AddError("--count must be 0 (until stopped) or a number of refreshes.");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, ExecuteAsync, cancellationToken));
        return command;
    }

    private static void Positive(System.CommandLine.Parsing.OptionResult result, string name)
    {
        if (result.GetValueOrDefault<double>() <= 0)
        {
            result.AddError($"{name} must be a number of seconds greater than 0.");
        }
    }

    private static async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(context.ParseResult.GetValue(Interval));
        var count = context.ParseResult.GetValue(Count);
        var sampler = new TopSampler(
            context.Target(),
            TimeSpan.FromSeconds(context.ParseResult.GetValue(Window)),
            TimeSpan.FromSeconds(context.ParseResult.GetValue(InDoubtAfter)),
            context.ConnectTimeout);
        await using (sampler.ConfigureAwait(false))
        {
            try
            {
                if (!context.Json && !Console.IsOutputRedirected)
                {
                    await LiveAsync(sampler, interval, count, cancellationToken).ConfigureAwait(false);
                    return ExitCodes.Ok;
                }

                var plain = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Ansi = AnsiSupport.No,
                    ColorSystem = ColorSystemSupport.NoColors,
                    Out = new AnsiConsoleOutput(context.Output),
                    Interactive = InteractionSupport.No,
                });
                plain.Profile.Width = 160;
                for (var refresh = 1; ; refresh++)
                {
                    var frame = await sampler.NextAsync(cancellationToken).ConfigureAwait(false);
                    if (context.Json)
                    {
                        await context.Output.WriteLineAsync(TopJson.Of(frame).ToJsonString(CliRunner.JsonLineOptions)).ConfigureAwait(false);
                    }
                    else
                    {
                        plain.Write(TopScreen.Render(frame, interactive: false));
                        await context.Output.WriteLineAsync().ConfigureAwait(false);
                    }

                    await context.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                    if (refresh == count)
                    {
                        return ExitCodes.Ok;
                    }

                    await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Ok; // Ctrl-C is one way top ends.
            }
        }
    }

    private static async Task LiveAsync(TopSampler sampler, TimeSpan interval, int count, CancellationToken cancellationToken)
    {
        var first = await sampler.NextAsync(cancellationToken).ConfigureAwait(false);
        await AnsiConsole.Live(TopScreen.Render(first, interactive: true)).StartAsync(async live =>
        {
            for (var refresh = 1; refresh != count; refresh++)
            {
                if (await QuitPressedWithinAsync(interval, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                live.UpdateTarget(TopScreen.Render(await sampler.NextAsync(cancellationToken).ConfigureAwait(false), interactive: true));
            }
        }).ConfigureAwait(false);
    }

    /// <summary>Waits for the next refresh, watching the keyboard (when there is one) for q or Esc.</summary>
    private static async Task<bool> QuitPressedWithinAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        var until = DateTimeOffset.UtcNow + interval;
        while (DateTimeOffset.UtcNow < until)
        {
            while (!Console.IsInputRedirected && Console.KeyAvailable)
            {
                if (Console.ReadKey(intercept: true).Key is ConsoleKey.Q or ConsoleKey.Escape)
                {
                    return true;
                }
            }

            var left = until - DateTimeOffset.UtcNow;
            await Task.Delay(left < KeyPoll ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : KeyPoll, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }
}
