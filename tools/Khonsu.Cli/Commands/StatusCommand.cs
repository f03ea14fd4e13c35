using System.CommandLine;
using System.Text.Json.Nodes;
using Khonsu.Cli.InDoubt;
using Khonsu.Cli.Infrastructure;
using Khonsu.Cli.LogView;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.Commands;

/// <summary>`khonsu status`: the backends, the commit log (embedded or Kafka) and what is in doubt. Changes nothing.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command(
            "status",
            "Show each backend (kind, where, reachable, whether it belongs to another commit log), the commit log (file or kafka:// address, last position, " +
            "log id, and for a Kafka log how far its materialised transaction_log has got and each process's position, checkpoint and lag), every in-doubt transaction (decision, age, participants) and, " +
            "apart, aborted ones a backend still holds prepared (to roll back). Changes nothing, and reads the embedded log while the application holds it. " +
            "Exit code 0 when all is well, 2 when something is in doubt or to roll back (or a backend belongs to another log), 3 when a backend or the log is unreachable.");
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, ExecuteAsync, cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var target = context.Target();
        var probes = await BackendProbe.ProbeAllAsync(target, context.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        var reachable = BackendProbe.RecoveryResourcesOfReachable(probes);

        long? lastPosition = null;
        LogHousekeeping? housekeeping = null;
        string? logProblem = null;
        IReadOnlyList<InDoubtTransaction> inDoubt;
        LogIdentity? identity = null;
        LogSource? source = null;
        (long End, IReadOnlyList<Khonsu.Log.Kafka.KafkaProcessLag> Processes)? processes = null;
        try
        {
            source = target.LogExists ? await LogSource.OpenAsync(target, cancellationToken).ConfigureAwait(false) : null;
        }
        catch (CliException error) when (error.ExitCode == ExitCodes.Unreachable)
        {
            logProblem = error.Message; // a Kafka log whose brokers do not answer: the backends are still worth showing
        }

        try
        {
            ICommitLog? log = null;
            if (source is not null)
            {
                lastPosition = await source.LastPositionAsync(cancellationToken).ConfigureAwait(false);
                housekeeping = await source.HousekeepingAsync(cancellationToken).ConfigureAwait(false);
                log = await source.CommitLogAsync(cancellationToken).ConfigureAwait(false);
                identity = log is EmbeddedCommitLog embedded ? embedded.KnownIdentity : log.Identity;
                processes = await ProcessLagView.ReadAsync(log, cancellationToken).ConfigureAwait(false);
            }

            inDoubt = await InDoubtScanner.ScanAsync(target, log, reachable, context.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (source is not null)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
        }

        (long? Applied, string? Unavailable)? materialised = target.IsKafkaLog && target.TransactionLogHolder is not null
            ? await TransactionLogQuery.AppliedAsync(target, context.ConnectTimeout, cancellationToken).ConfigureAwait(false)
            : null;

        // A backend that records another log would refuse this connection string's runtime.
        bool Foreign(BackendProbe probe) => probe.Owner is { } owner && identity is not null && owner.LogId != identity.Id;
        var now = DateTimeOffset.UtcNow;
        if (context.Json)
        {
            var json = new JsonObject
            {
                ["backends"] = new JsonArray(probes.Select(p => (JsonNode)new JsonObject
                {
                    ["name"] = p.Backend.Name,
                    ["kind"] = p.Backend.Kind,
                    ["location"] = p.Location,
                    ["reachable"] = p.Reachable,
                    ["serverVersion"] = p.ServerVersion,
                    ["error"] = p.Problem,
                    ["warning"] = p.Warning,
                    ["commitLog"] = p.Owner is { } owner ? new JsonObject
                    {
                        ["logId"] = owner.LogId,
                        ["log"] = owner.Log,
                        ["thisLog"] = identity is null ? null : owner.LogId == identity.Id,
                    } : null,
                }).ToArray()),
                ["log"] = new JsonObject
                {
                    ["path"] = target.LogPath,
                    ["kind"] = target.IsKafkaLog ? "kafka" : "embedded",
                    ["logId"] = identity?.Id,
                    ["exists"] = source is not null,
                    ["lastPosition"] = lastPosition,
                    ["records"] = housekeeping?.Records,
                    ["oldestPosition"] = housekeeping?.OldestPosition,
                    ["truncatedThrough"] = housekeeping?.TruncatedThrough,
                    ["transactionLogRows"] = housekeeping?.TransactionLogRows,
                    ["transactionLogOldestDecidedAt"] = housekeeping?.OldestDecidedAt,
                    ["transactionLogRetentionSeconds"] = target.Settings.TransactionLogRetention?.TotalSeconds,
                    ["error"] = logProblem,
                    ["processes"] = processes is { } lag ? ProcessLagView.Json(lag.Processes) : null,
                    ["transactionLog"] = materialised is { } m ? new JsonObject
                    {
                        ["backend"] = target.TransactionLogHolder!.Name,
                        ["table"] = target.TransactionLogHolder.TransactionLogTables?.Table,
                        ["appliedPosition"] = m.Applied,
                        ["error"] = m.Unavailable,
                    } : null,
                },
                ["inDoubt"] = InDoubtJson.Array(inDoubt, InDoubtCategory.InDoubt, now, target.Settings.PrepareLease),
                ["toRollBack"] = InDoubtJson.Array(inDoubt, InDoubtCategory.ToRollBack, now, target.Settings.PrepareLease),
            };
            await context.Output.WriteLineAsync(json.ToJsonString(CliRunner.JsonOptions)).ConfigureAwait(false);
        }
        else
        {
            var output = context.Output;
            await output.WriteLineAsync("Backends:").ConfigureAwait(false);
            var nameWidth = probes.Max(p => p.Backend.Name.Length);
            var kindWidth = probes.Max(p => p.Backend.Kind.Length);
            foreach (var probe in probes)
            {
                var state = probe.Reachable ? "reachable  " : "UNREACHABLE";
                await output.WriteLineAsync($"  {probe.Backend.Name.PadRight(nameWidth)}  {probe.Backend.Kind.PadRight(kindWidth)}  {state}  {probe.Location}").ConfigureAwait(false);
                if (probe.Problem is not null)
                {
                    await output.WriteLineAsync($"    {probe.Problem}").ConfigureAwait(false);
                }

                if (probe.Warning is not null)
                {
                    await output.WriteLineAsync($"    warning: {probe.Warning}").ConfigureAwait(false);
                }

                if (Foreign(probe))
                {
                    await output.WriteLineAsync($"    BELONGS TO ANOTHER COMMIT LOG: {probe.Owner} (this connection string's runtime is refused; see khonsu log adopt)").ConfigureAwait(false);
                }
            }

            await output.WriteLineAsync($"Commit log: {target.LogPath}").ConfigureAwait(false);
            await output.WriteLineAsync(logProblem is not null ? $"  UNREACHABLE: {logProblem}"
                : source is null ? "  does not exist yet (it is created when a Khonsu connection first opens)"
                : $"  last position {(lastPosition is null ? "none (empty)" : Text.Invariant(lastPosition.Value))}{(identity is null ? "" : $", log id {identity.Id}")}").ConfigureAwait(false);
            if (housekeeping is { } kept)
            {
                var truncated = kept.TruncatedThrough is { } through ? $", truncated up to position {Text.Invariant(through)}" : string.Empty;
                var from = kept.OldestPosition is { } oldest ? $" from position {Text.Invariant(oldest)}" : string.Empty;
                var retention = target.Settings.TransactionLogRetention is { } days ? $"kept {Text.Age(days)} after a transaction finishes" : "kept for ever";
                await output.WriteLineAsync($"  holds {Text.Plural(kept.Records, "record")}{from} (an ended transaction's go a minute after its end{truncated})").ConfigureAwait(false);
                await output.WriteLineAsync($"  transaction_log: {Text.Plural(kept.TransactionLogRows, "row")}{(kept.OldestDecidedAt is { } decided ? $", oldest decided {decided}" : string.Empty)}; {retention} (TransactionLogRetention)").ConfigureAwait(false);
            }

            if (materialised is { } m)
            {
                var where = $"{target.TransactionLogHolder!.TransactionLogTables?.Table} on backend {target.TransactionLogHolder.Name}";
                await output.WriteLineAsync(m.Unavailable is { } why ? $"  transaction_log: {why}"
                    : $"  transaction_log: {where}, applied up to position {(m.Applied is { } applied ? Text.Invariant(applied) : "none yet")}").ConfigureAwait(false);
            }
            if (processes is { } lag)
            {
                await output.WriteLineAsync("  processes (as each last published itself):").ConfigureAwait(false);
                await ProcessLagView.WriteAsync(output, lag.End, lag.Processes, "    ").ConfigureAwait(false);
            }

            await InDoubtText.WriteAsync(output, inDoubt, now, target.Settings.PrepareLease).ConfigureAwait(false);
        }

        return probes.Any(p => !p.Reachable) || logProblem is not null ? ExitCodes.Unreachable
            : InDoubtScanner.NeedsAttention(inDoubt) || probes.Any(Foreign) ? ExitCodes.Attention
            : ExitCodes.Ok;
    }
}
