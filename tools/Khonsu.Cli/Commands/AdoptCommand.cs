using System.CommandLine;
using System.Text.Json.Nodes;
using Khonsu.Cli.Infrastructure;
using Khonsu.Data.Backends;
using Khonsu.Data.Runtime;
using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.Commands;

/// <summary>
/// `khonsu log adopt --from &lt;old log&gt;`: moves the connection string's databases to its log,
/// from the log that governed them (say, after migrating from the embedded log to Kafka). A
/// database belongs to one log, and a runtime with another log is refused at open: this is the
/// operator's explicit act that changes which log it is. It refuses, and moves nothing, while any
/// database holds undecided work of the old log (a commit not finished there, a transaction still
/// prepared), and it holds the old embedded log's lock while it checks and moves, so no process of
/// the old log can start meanwhile.
/// </summary>
internal static class AdoptCommand
{
    private static readonly Option<string?> From = new("--from")
    {
        Description = "The log the databases belong to now: its Log value (a file path, or kafka://host:port/topic with this connection string's Kafka.* settings) or a whole Khonsu connection string with that log.",
        HelpName = "old-log",
    };

    private static readonly Option<bool> OldLogLost = new("--old-log-lost")
    {
        Description = "The old log is gone (lost with a disk, deleted): move without reading it. Still refuses while a database holds a transaction prepared under the old log; what the old log committed and had not finished on SQLite is lost with it.",
    };

    public static Command Create()
    {
        var command = new Command(
            "adopt",
            "Move the connection string's databases to its commit log, from the log that governs them now (--from), e.g. after migrating from the embedded log to Kafka. " +
            "Refuses, moving nothing, while a database holds undecided work of the old log: run khonsu recover with the old log first. Stop the processes of the old log before. " +
            "Exit code 0 when every database belongs to the new log, 4 when refused.")
        {
            From,
            OldLogLost,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(From) is null) == !result.GetValue(OldLogLost))
            {
                result.AddError("Give either --from <old log> or --old-log-lost.");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, ExecuteAsync, cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var target = context.Target();
        var from = context.ParseResult.GetValue(From);
        // The same databases under the old log: its identity governs these backend objects, so their
        // recovery resources list the old log's prepared transactions.
        var oldTarget = from is null ? target.Copy() : target.ForLog(from, "--from");

        // The old log first, holding its lock (embedded): its processes must be stopped, and none may start while the databases move.
        var oldLog = from is null ? null : await oldTarget.OpenLogForWritingAsync("khonsu log adopt", cancellationToken).ConfigureAwait(false);
        try
        {
            var newLog = await target.OpenLogForWritingAsync("khonsu log adopt", cancellationToken, mayCreate: true).ConfigureAwait(false);
            await using (newLog.ConfigureAwait(false))
            {
                if (oldLog is not null && oldLog.Identity.Id == newLog.Identity.Id)
                {
                    throw new CliException(ExitCodes.Usage, $"--from names this connection string's own log ({newLog.Identity}): there is nothing to move.");
                }

                var plans = new List<(KhonsuBackend Backend, LogOwner? Owner)>();
                var refusals = new List<string>();
                foreach (var (backend, index) in target.Backends.Select((b, i) => (b, i)))
                {
                    var owner = await OwnerAsync(target, backend, context.ConnectTimeout, cancellationToken).ConfigureAwait(false);
                    if (owner?.LogId == newLog.Identity.Id)
                    {
                        plans.Add((backend, owner));
                        continue;
                    }

                    var oldId = oldLog?.Identity.Id ?? owner?.LogId;
                    if (owner is not null && owner.LogId != oldId)
                    {
                        refusals.Add($"backend '{backend.Name}' records {owner}, not the log given with --from ({oldLog!.Identity})");
                        continue;
                    }

                    var oldBackend = oldTarget.Backends[index];
                    oldBackend.GoverningLog = oldLog?.Identity ?? (owner is null ? null : new LogIdentity(owner.LogId, owner.Log));
                    var undecided = await UndecidedAsync(oldLog, oldBackend, cancellationToken).ConfigureAwait(false);
                    if (undecided.Count > 0)
                    {
                        refusals.Add(
                            $"backend '{backend.Name}' holds undecided work of the old log: {Text.Plural(undecided.Count, "transaction")} ({string.Join(", ", undecided.Take(5))}{(undecided.Count > 5 ? ", ..." : "")})");
                        continue;
                    }

                    plans.Add((backend, owner));
                }

                if (refusals.Count > 0)
                {
                    throw new CliException(
                        ExitCodes.Failed,
                        $"log adopt refused, nothing moved: {string.Join("; ", refusals)}. Finish the old log's work first (khonsu recover with the old log's connection string, " +
                        $"or start the application on the old log and let it recover), then run khonsu log adopt again ({LogFence.MoveDocs}).");
                }

                return await MoveAsync(context, target, plans, oldLog?.Identity, newLog.Identity, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (oldLog is not null)
            {
                await oldLog.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>What the old log left undecided on the backend: commits it logged that are not finished, and transactions prepared under it.</summary>
    private static async Task<List<string>> UndecidedAsync(ICommitLog? oldLog, KhonsuBackend oldBackend, CancellationToken cancellationToken)
    {
        var undecided = new List<string>();
        var seen = new HashSet<TransactionId>();
        if (oldLog is not null)
        {
            await foreach (var logged in oldLog.ReadUnfinishedAsync(cancellationToken).ConfigureAwait(false))
            {
                var record = logged.Record;
                if (record.Kind == LogRecordKind.Commit && record.Participants.Any(p => p.Participant.Equals(oldBackend.Name, StringComparison.OrdinalIgnoreCase)) && seen.Add(record.TransactionId))
                {
                    undecided.Add($"{record.TransactionId}: COMMIT logged, not finished there");
                }
            }
        }

        foreach (var prepared in await oldBackend.CreateRecoveryResource().ListPreparedAsync(cancellationToken).ConfigureAwait(false))
        {
            if (seen.Add(prepared.TransactionId))
            {
                undecided.Add($"{prepared.TransactionId}: prepared");
            }
        }

        return undecided;
    }

    private static async Task<int> MoveAsync(
        CommandContext context, KhonsuTarget target, List<(KhonsuBackend Backend, LogOwner? Owner)> plans, LogIdentity? oldLog, LogIdentity newLog, CancellationToken cancellationToken)
    {
        var results = new List<(string Backend, string Outcome)>();
        foreach (var (backend, owner) in plans)
        {
            if (owner?.LogId == newLog.Id)
            {
                results.Add((backend.Name, "already belongs to the new log"));
                continue;
            }

            var connection = await target.ConnectAsync(backend, context.ConnectTimeout, mayCreateFile: false, cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                if (backend.LogOwnerTable is not { } table || !await table.ExistsAsync(connection, cancellationToken).ConfigureAwait(false))
                {
                    results.Add((backend.Name, "records no log: Khonsu's schema is not installed there (khonsu schema install); the first runtime to open it claims it"));
                    continue;
                }

                if (!await LogFence.MoveAsync(backend, connection, owner?.LogId, newLog, target.NodeId, cancellationToken).ConfigureAwait(false))
                {
                    throw new CliException(ExitCodes.Failed, $"backend '{backend.Name}' changed its log while the tool ran (another khonsu log adopt, or a runtime claimed it): run khonsu status, then adopt again.");
                }

                results.Add((backend.Name, owner is null ? "moved (it recorded no log)" : "moved"));
            }
        }

        if (context.Json)
        {
            var json = new JsonObject
            {
                ["from"] = oldLog is null ? null : new JsonObject { ["logId"] = oldLog.Id, ["log"] = oldLog.Description },
                ["to"] = new JsonObject { ["logId"] = newLog.Id, ["log"] = newLog.Description },
                ["backends"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject { ["name"] = r.Backend, ["outcome"] = r.Outcome }).ToArray()),
            };
            await context.Output.WriteLineAsync(json.ToJsonString(CliRunner.JsonOptions)).ConfigureAwait(false);
        }
        else
        {
            await context.Output.WriteLineAsync($"Databases now governed by {newLog}{(oldLog is null ? " (the old log was not read: --old-log-lost)" : $", moved from {oldLog}")}:").ConfigureAwait(false);
            var width = results.Max(r => r.Backend.Length);
            foreach (var (backend, outcome) in results)
            {
                await context.Output.WriteLineAsync($"  {backend.PadRight(width)}  {outcome}").ConfigureAwait(false);
            }
        }

        return ExitCodes.Ok;
    }

    private static async Task<LogOwner?> OwnerAsync(KhonsuTarget target, KhonsuBackend backend, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connection = await target.ConnectAsync(backend, timeout, mayCreateFile: false, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await LogFence.ReadAsync(backend, connection, cancellationToken).ConfigureAwait(false);
        }
    }
}
