using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Khonsu.Cli.Infrastructure;
using Khonsu.Mirror;
using Khonsu.Mirror.Changes;
using Khonsu.Mirror.DuckDb;

namespace Khonsu.Cli.Commands;

/// <summary>
/// `khonsu mirror run`: keeps a DuckDB mirror up to date from the change stream, as a process of
/// its own (with a Kafka log, on any machine); `khonsu mirror status`: how far a mirror is, and its
/// lag behind the log. See docs/mirror.md.
/// </summary>
internal static class MirrorCommand
{
    private static readonly Option<string> MirrorFile = new("--mirror")
    {
        Description = "The mirror's DuckDB file (created on first run).",
        HelpName = "FILE",
        Required = true,
    };

    private static readonly Option<int> Group = new("--group")
    {
        Description = "Source transactions applied per DuckDB transaction at most.",
        HelpName = "N",
        DefaultValueFactory = _ => 100,
    };

    private static readonly Option<bool> Once = new("--once")
    {
        Description = "Apply what the log holds now, then exit (default: keep following the log until Ctrl-C).",
    };

    public static Command Create()
    {
        Group.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--group must be 1 or more."); } });
        var run = new Command("run", "Apply the change stream of the tables the connection string follows (Follow.<backend>=...) to a DuckDB mirror, whole transactions at a time, exactly once; resumes where the mirror's last commit left it. Prints one line per group applied.")
        {
            MirrorFile,
            Group,
            Once,
        };
        run.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, RunAsync, cancellationToken));

        var status = new Command("status", "The mirror's position (the last log position it applied, its last transaction) and its lag behind the commit log, in positions and seconds. Read-only.")
        {
            MirrorFile,
        };
        status.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, StatusAsync, cancellationToken));

        return new Command("mirror", "A DuckDB mirror of the followed tables, transaction-consistent across every backend (docs/mirror.md).")
        {
            run,
            status,
        };
    }

    private static async Task<int> RunAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var output = context.Output;
        var options = new MirrorApplierOptions
        {
            TransactionsPerGroup = context.ParseResult.GetValue(Group),
            Applied = group => output.WriteLine(
                string.Create(CultureInfo.InvariantCulture, $"applied through {group.ThroughPosition}: {group.Transactions.Count} transactions, {group.Batches.Sum(b => b.Length)} rows")),
        };
        var applier = await MirrorApplier.OpenAsync(context.ConnectionString(), context.ParseResult.GetValue(MirrorFile)!, options, cancellationToken).ConfigureAwait(false);
        await using (applier.ConfigureAwait(false))
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"mirror at position {applier.Mirror.Position.ThroughPosition}")).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (context.ParseResult.GetValue(Once))
            {
                var position = await applier.CatchUpAsync(cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"caught up at position {position.ThroughPosition}")).ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            await applier.RunAsync(cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
    }

    private static async Task<int> StatusAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var file = context.ParseResult.GetValue(MirrorFile)!;
        if (!File.Exists(file))
        {
            throw new CliException(ExitCodes.Usage, $"the mirror '{Path.GetFullPath(file)}' does not exist: khonsu mirror run --mirror {file} creates it.");
        }

        var position = await DuckDbMirror.ReadPositionAsync(file, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.Usage, $"'{Path.GetFullPath(file)}' is a DuckDB file but no Khonsu mirror (it has no khonsu_mirror.applied table).");
        var stream = await KhonsuChangeStream.OpenAsync(context.ConnectionString(), cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var lag = await MirrorApplier.LagAsync(stream, position, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                var json = new JsonObject
                {
                    ["mirror"] = Path.GetFullPath(file),
                    ["log"] = stream.LogDescription,
                    ["through_position"] = position.ThroughPosition,
                    ["last_commit_position"] = position.LastCommitPosition,
                    ["last_committed_at"] = position.LastCommittedAt?.ToString("O", CultureInfo.InvariantCulture),
                    ["applied_at"] = position.AppliedAt?.ToString("O", CultureInfo.InvariantCulture),
                    ["lag_positions"] = lag.Positions,
                    ["lag_seconds"] = lag.Time.TotalSeconds,
                };
                await context.Output.WriteLineAsync(json.ToJsonString(CliRunner.JsonOptions)).ConfigureAwait(false);
            }
            else
            {
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $$"""
                    Mirror: {{Path.GetFullPath(file)}}
                    Log: {{stream.LogDescription}}
                      applied through position {{position.ThroughPosition}} (last transaction at {{position.LastCommitPosition?.ToString(CultureInfo.InvariantCulture) ?? "-"}}, committed {{position.LastCommittedAt?.ToString("O", CultureInfo.InvariantCulture) ?? "-"}})
                      lag: {{lag.Positions}} positions, {{lag.Time.TotalSeconds:0.###}} s
                    """)).ConfigureAwait(false);
            }
        }

        return ExitCodes.Ok;
    }
}
