using System.CommandLine;
using System.Text.Json.Nodes;
using Khonsu.Cli.InDoubt;
using Khonsu.Cli.Infrastructure;
using Khonsu.Engine.Log;
using Microsoft.Data.Sqlite;

namespace Khonsu.Cli.Commands;

/// <summary>`khonsu status`: the backends, the commit log and what is in doubt. Changes nothing.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command(
            "status",
            "Show each backend (kind, where, reachable), the commit log (file, last position) and every in-doubt transaction " +
            "(decision, age, participants). Changes nothing. Exit code 0 when all is well, 2 when something is in doubt, 3 when a backend is unreachable.");
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, ExecuteAsync, cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var target = context.Target();
        var probes = await BackendProbe.ProbeAllAsync(target, context.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        var reachable = target.Backends.Zip(probes).Where(p => p.Second.Reachable).Select(p => p.First.CreateRecoveryResource()).ToList();

        long? lastPosition = null;
        IReadOnlyList<InDoubtTransaction> inDoubt;
        var log = target.LogExists ? target.OpenLog() : null;
        try
        {
            if (log is not null)
            {
                lastPosition = await LastPositionAsync(target, cancellationToken).ConfigureAwait(false);
            }

            inDoubt = await InDoubtScanner.ScanAsync(target, log, reachable, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (log is not null)
            {
                await log.DisposeAsync().ConfigureAwait(false);
            }
        }

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
                }).ToArray()),
                ["log"] = new JsonObject
                {
                    ["path"] = target.LogPath,
                    ["exists"] = log is not null,
                    ["lastPosition"] = lastPosition,
                },
                ["inDoubt"] = InDoubtJson.Array(inDoubt, now, target.Settings.PrepareLease),
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
            }

            await output.WriteLineAsync($"Commit log: {target.LogPath}").ConfigureAwait(false);
            await output.WriteLineAsync(log is null
                ? "  does not exist yet (it is created when a Khonsu connection first opens)"
                : $"  last position {(lastPosition is null ? "none (empty)" : Text.Invariant(lastPosition.Value))}").ConfigureAwait(false);
            await InDoubtText.WriteAsync(output, inDoubt, now, target.Settings.PrepareLease).ConfigureAwait(false);
        }

        return probes.Any(p => !p.Reachable) ? ExitCodes.Unreachable
            : inDoubt.Count > 0 ? ExitCodes.Attention
            : ExitCodes.Ok;
    }

    private static async Task<long?> LastPositionAsync(KhonsuTarget target, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(target.LogReadConnectionString());
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var last = await BackendProbe.ScalarAsync(connection, "SELECT max(position) FROM khonsu_log", cancellationToken).ConfigureAwait(false);
            return last is long position ? position : null;
        }
    }
}
