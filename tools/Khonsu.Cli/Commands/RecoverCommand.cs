using System.CommandLine;
using System.Text.Json.Nodes;
using Khonsu.Cli.InDoubt;
using Khonsu.Cli.Infrastructure;
using Khonsu.Data.Runtime;
using Khonsu.Engine;
using Khonsu.Engine.Log;
using Khonsu.Engine.Recovery;
using Spectre.Console;
using Text = Khonsu.Cli.Infrastructure.Text;

namespace Khonsu.Cli.Commands;

/// <summary>
/// `khonsu recover`: one recovery pass, as a Khonsu connection runs at open and its sweeper runs
/// every RecoveryInterval: every logged decision without an end record is finished on every
/// participant; every prepared transaction with no decision is aborted once PrepareLease is over.
/// </summary>
internal static class RecoverCommand
{
    private static readonly Option<double> MinAge = new("--min-age")
    {
        Description = "Leave alone transactions decided or prepared less than this many seconds ago. Set it when the application runs beside the tool (a Kafka log), so that the tool does not race commits its processes are still finishing; 0 suits a stopped application.",
        HelpName = "seconds",
        DefaultValueFactory = _ => 0,
    };

    public static Command Create()
    {
        var command = new Command(
            "recover",
            "Drive every in-doubt transaction to its logged outcome: finish logged decisions (COMMIT PREPARED, redo of SQLite row images, ROLLBACK PREPARED) " +
            "and abort transactions prepared with no decision (with the embedded log at once, since the tool then holds it; with a Kafka log once the PrepareLease is over). " +
            "Shows progress. Idempotent: running it twice is harmless. Refuses to run when the embedded log's file does not exist, and while the application holds it. " +
            "Exit code 0 when nothing is left in doubt, 2 when something is, 3 when a backend or the log is unreachable (or held), 4 when a backend belongs to another log.")
        {
            MinAge,
        };
        MinAge.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() < 0)
            {
                result.AddError("--min-age must be 0 or more seconds.");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, ExecuteAsync, cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var target = context.Target();
        var log = await target.OpenLogForWritingAsync("khonsu recover", cancellationToken).ConfigureAwait(false);
        await using (log.ConfigureAwait(false))
        {
            var probes = await BackendProbe.ProbeAllAsync(target, context.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            foreach (var probe in probes.Where(p => !p.Reachable))
            {
                await Console.Error.WriteLineAsync("khonsu: warning: " + probe.Problem).ConfigureAwait(false);
            }

            // Recovery settles only its own log's transactions (their gids carry its tag), but a
            // database that records another log is that log's to recover: say so rather than half-do it.
            if (probes.FirstOrDefault(p => p.Owner is { } owner && owner.LogId != log.Identity.Id) is { } foreign)
            {
                throw new CliException(
                    ExitCodes.Failed,
                    $"backend '{foreign.Backend.Name}' ({foreign.Location}) belongs to another commit log: it records {foreign.Owner}, not this connection string's " +
                    $"{log.Identity}. Recover it with the connection string of its own log, or move it to this log first (khonsu log adopt; {LogFence.MoveDocs}).");
            }

            var reachable = BackendProbe.RecoveryResourcesOfReachable(probes);
            var before = await InDoubtScanner.ScanAsync(target, log, reachable, context.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            var minAge = TimeSpan.FromSeconds(context.ParseResult.GetValue(MinAge));
            var now = DateTimeOffset.UtcNow;
            var young = before.Where(t => t.Age(now) < minAge).Select(t => t.Id).ToHashSet();
            var decisions = before.Where(t => t.Decision is not null).ToDictionary(t => t.Id, t => t.Decision!);
            var closed = before.Where(t => t.Category == InDoubtCategory.Closed).Select(t => t.Id).ToHashSet();
            var work = before.Count - young.Count;

            var finished = new List<(TransactionId Id, string Outcome)>();
            RecoveryReport report;
            var interactive = !context.Json && !Console.IsOutputRedirected;
            if (interactive && work > 0)
            {
                report = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask($"Recovering {Text.Plural(work, "transaction")}", maxValue: work);
                        return await RunAsync(target, log, young, decisions, closed, (id, outcome) =>
                        {
                            finished.Add((id, outcome));
                            task.Increment(1);
                        }, cancellationToken).ConfigureAwait(false);
                    }).ConfigureAwait(false);
            }
            else
            {
                if (!context.Json)
                {
                    await context.Output.WriteLineAsync($"Recovering {Text.Plural(work, "transaction")} in doubt").ConfigureAwait(false);
                }

                report = await RunAsync(target, log, young, decisions, closed, (id, outcome) =>
                {
                    finished.Add((id, outcome));
                    if (!context.Json)
                    {
                        context.Output.WriteLine($"  [{finished.Count}/{work}] {id} {outcome}");
                    }
                }, cancellationToken).ConfigureAwait(false);
            }

            var after = await InDoubtScanner.ScanAsync(target, log, reachable, context.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            now = DateTimeOffset.UtcNow;
            var aborted = finished.Count(f => f.Outcome == "aborted");
            var ended = finished.Count(f => f.Outcome == ClosedOutcome);
            if (context.Json)
            {
                var json = new JsonObject
                {
                    ["committed"] = report.Committed,
                    ["aborted"] = aborted,
                    ["closed"] = ended,
                    ["finished"] = new JsonArray(finished.Select(f => (JsonNode)new JsonObject { ["txId"] = f.Id.ToString(), ["outcome"] = f.Outcome }).ToArray()),
                    ["skippedYoungerThanMinAge"] = young.Count,
                    ["unreachable"] = new JsonArray(probes.Where(p => !p.Reachable).Select(p => (JsonNode)JsonValue.Create(p.Backend.Name)).ToArray()),
                    ["inDoubt"] = InDoubtJson.Array(after, InDoubtCategory.InDoubt, now, target.Settings.PrepareLease),
                    ["toRollBack"] = InDoubtJson.Array(after, InDoubtCategory.ToRollBack, now, target.Settings.PrepareLease),
                };
                await context.Output.WriteLineAsync(json.ToJsonString(CliRunner.JsonOptions)).ConfigureAwait(false);
            }
            else
            {
                await context.Output.WriteLineAsync($"Committed {Text.Invariant(report.Committed)}, aborted {Text.Invariant(aborted)}.").ConfigureAwait(false);
                if (ended > 0)
                {
                    await context.Output.WriteLineAsync($"Closed {Text.Plural(ended, "aborted transaction")} with nothing left to roll back (only the end record was missing).").ConfigureAwait(false);
                }

                if (young.Count > 0)
                {
                    await context.Output.WriteLineAsync($"Left alone {Text.Plural(young.Count, "transaction")} younger than --min-age.").ConfigureAwait(false);
                }

                await InDoubtText.WriteAsync(context.Output, after, now, target.Settings.PrepareLease).ConfigureAwait(false);
            }

            return probes.Any(p => !p.Reachable) ? ExitCodes.Unreachable
                : InDoubtScanner.NeedsAttention(after) ? ExitCodes.Attention
                : ExitCodes.Ok;
        }
    }

    /// <summary>How the tool reports an abort it only closed: every participant had rolled back already.</summary>
    private const string ClosedOutcome = "closed (already rolled back)";

    private static async Task<RecoveryReport> RunAsync(
        KhonsuTarget target,
        ICommitLog log,
        HashSet<TransactionId> young,
        Dictionary<TransactionId, string> decisions,
        HashSet<TransactionId> closed,
        Action<TransactionId, string> finished,
        CancellationToken cancellationToken)
    {
        var observed = new ObservedCommitLog(log, record =>
        {
            if (record.Kind == LogRecordKind.InDoubtNote)
            {
                return; // recovery's note about a participant it could not finish: not a decision
            }

            if (record.Kind == LogRecordKind.End)
            {
                finished(
                    record.TransactionId,
                    decisions.GetValueOrDefault(record.TransactionId, "ABORT") == "COMMIT" ? "committed" : closed.Contains(record.TransactionId) ? ClosedOutcome : "aborted");
            }
            else
            {
                // Recovery decided it (an abort after the lease); the first decision in the log is what counts.
                decisions.TryAdd(record.TransactionId, InDoubtScanner.KindText(record.Kind));
            }
        });
        // Holding the embedded log, the tool is its only writer: no coordinator is in flight
        // anywhere, so a transaction of this log prepared with no decision is dead, lease or not.
        var recovery = new RecoveryManager(
            observed, target.RecoveryResources(), target.NodeId, young.Contains, target.Settings.PrepareLease, exclusiveLog: !target.IsKafkaLog);
        return await recovery.RecoverAsync(cancellationToken).ConfigureAwait(false);
    }
}
