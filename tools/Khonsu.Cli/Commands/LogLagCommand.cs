using System.CommandLine;
using System.Text.Json.Nodes;
using Khonsu.Cli.Infrastructure;
using Khonsu.Cli.LogView;

namespace Khonsu.Cli.Commands;

/// <summary>
/// `khonsu log lag`: every process of a Kafka log, as it last published itself on the log's
/// positions topic: the last record its tail applied, its newest checkpoint, and how far it is
/// behind the log's end, in records and in seconds. Read-only.
/// </summary>
internal static class LogLagCommand
{
    public static Command Create()
    {
        var command = new Command(
            "lag",
            "For a Kafka log: each application process's tail position (last record applied), its newest checkpoint, and its lag behind the log's end in records and in seconds, " +
            "as each process last published it (every Kafka.PositionSeconds, default 5). Read-only. Exit code 0, or 1 for an embedded log (one process holds it; nothing to compare).");
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, ExecuteAsync, cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var target = context.Target();
        if (!target.IsKafkaLog)
        {
            throw new CliException(ExitCodes.Usage, $"log lag is for a Kafka log (Log=kafka://host:port/topic); '{target.LogPath}' is an embedded log, which one process holds.");
        }

        var source = await LogSource.OpenAsync(target, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var log = await source.CommitLogAsync(cancellationToken).ConfigureAwait(false);
            var (end, processes) = (await ProcessLagView.ReadAsync(log, cancellationToken).ConfigureAwait(false))!.Value;
            if (context.Json)
            {
                var json = new JsonObject { ["log"] = target.LogPath, ["end"] = end, ["processes"] = ProcessLagView.Json(processes) };
                await context.Output.WriteLineAsync(json.ToJsonString(CliRunner.JsonOptions)).ConfigureAwait(false);
            }
            else
            {
                await context.Output.WriteLineAsync($"Commit log: {target.LogPath}").ConfigureAwait(false);
                await ProcessLagView.WriteAsync(context.Output, end, processes, "  ").ConfigureAwait(false);
            }
        }

        return ExitCodes.Ok;
    }
}
