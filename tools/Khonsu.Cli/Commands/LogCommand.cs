using System.CommandLine;
using System.Text.Json.Nodes;
using Khonsu.Cli.Infrastructure;
using Khonsu.Cli.LogView;
using Khonsu.Engine;

namespace Khonsu.Cli.Commands;

/// <summary>`khonsu log tail` and `khonsu log show` (and `log lag`, `log adopt` in their own files): the commit log's records (embedded or Kafka), decoded. Read-only.</summary>
internal static class LogCommand
{
    private static string TransactionLogRows(string table) => $"SELECT participant, status, decision, finished_at, abort_reason FROM {table} WHERE tx_id = @tx ORDER BY participant";

    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(500);

    private static readonly Option<int> Lines = new("--lines", "-n")
    {
        Description = "How many of the last records to show.",
        HelpName = "N",
        DefaultValueFactory = _ => 10,
    };

    private static readonly Option<bool> Follow = new("--follow", "-f")
    {
        Description = "Keep watching the log and print records as they are appended, until Ctrl-C.",
    };

    private static readonly Argument<string> TransactionArgument = new("tx-id")
    {
        Description = "The transaction's id, as transaction_log.tx_id or an error message shows it (a UUID).",
    };

    private static readonly Option<bool> Values = new("--values")
    {
        Description = "Show the values in row images (each cut to 40 characters); by default only their columns.",
    };

    private static readonly Option<int> MaxRows = new("--max-rows")
    {
        Description = "How many written rows to list per participant.",
        HelpName = "N",
        DefaultValueFactory = _ => 20,
    };

    public static Command Create()
    {
        Lines.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) { r.AddError("--lines must be 0 or more."); } });
        MaxRows.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) { r.AddError("--max-rows must be 0 or more."); } });

        var tail = new Command("tail", "Print the last records of the commit log, one line each: position, time, kind (COMMIT, ABORT, END), transaction, node, participants with rows written. Read-only.")
        {
            Lines,
            Follow,
        };
        tail.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, TailAsync, cancellationToken));

        var show = new Command("show", "Print every record of one transaction, decoded (kind, node, participants, rows written with their versions and a summary of their row images), and its transaction_log rows. Exit code 2 if the log holds no record of it.")
        {
            TransactionArgument,
            Values,
            MaxRows,
        };
        show.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, ShowAsync, cancellationToken));

        return new Command("log", "Read the commit log the Log key names (the embedded log's SQLite file, or a Kafka log: kafka://host:port/topic), or move the databases to it (adopt).")
        {
            tail,
            show,
            LogLagCommand.Create(),
            AdoptCommand.Create(),
        };
    }

    private static async Task<int> TailAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var source = await LogSource.OpenAsync(context.Target(), cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var rows = await source.LastAsync(context.ParseResult.GetValue(Lines), cancellationToken).ConfigureAwait(false);
            var last = await WriteLinesAsync(context, rows, -1).ConfigureAwait(false);
            if (!context.ParseResult.GetValue(Follow))
            {
                return ExitCodes.Ok;
            }

            if (last < 0)
            {
                last = await source.LastPositionAsync(cancellationToken).ConfigureAwait(false) ?? -1;
            }

            try
            {
                while (true)
                {
                    await Task.Delay(FollowInterval, cancellationToken).ConfigureAwait(false);
                    rows = await source.AfterAsync(last, cancellationToken).ConfigureAwait(false);
                    last = await WriteLinesAsync(context, rows, last).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Ok; // Ctrl-C is how --follow ends.
            }
        }
    }

    private static async Task<long> WriteLinesAsync(CommandContext context, IReadOnlyList<LogFileReader.Row> rows, long last)
    {
        foreach (var row in rows)
        {
            string line;
            if (context.Json)
            {
                line = row.Record is { } record
                    ? LogRecordText.Json(record, values: false).ToJsonString(CliRunner.JsonLineOptions)
                    : new JsonObject { ["position"] = row.Position, ["error"] = KhonsuTarget.OneLine(row.Error!) }.ToJsonString(CliRunner.JsonLineOptions);
            }
            else
            {
                line = row.Record is { } record ? LogRecordText.Line(record) : LogRecordText.Undecodable(row.Position, row.Error!);
            }

            await context.Output.WriteLineAsync(line).ConfigureAwait(false);
            last = Math.Max(last, row.Position);
        }

        await context.Output.FlushAsync().ConfigureAwait(false);
        return last;
    }

    private static async Task<int> ShowAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var text = context.ParseResult.GetValue(TransactionArgument);
        if (!TransactionId.TryParse(text, out var id))
        {
            throw new CliException(ExitCodes.Usage, $"'{text}' is not a transaction id: expected a UUID such as 0193a0c4-7f7e-7cc1-9a4e-2f1b5c3d4e5f.");
        }

        var target = context.Target();
        IReadOnlyList<LogFileReader.Row> rows;
        var source = await LogSource.OpenAsync(target, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            rows = await source.OfAsync(id, cancellationToken).ConfigureAwait(false);
        }

        var transactionLog = await TransactionLogQuery.QueryAsync(
            target,
            context.ConnectTimeout,
            TransactionLogRows,
            reader => (Participant: reader.GetString(0), Status: reader.GetString(1), Decision: TransactionLogQuery.Text(reader, 2), FinishedAt: TransactionLogQuery.Text(reader, 3), Reason: TransactionLogQuery.Text(reader, 4)),
            cancellationToken,
            ("tx", id.ToString())).ConfigureAwait(false);
        var states = transactionLog.Rows;
        var values = context.ParseResult.GetValue(Values);
        if (context.Json)
        {
            var json = new JsonObject
            {
                ["txId"] = id.ToString(),
                ["found"] = rows.Count > 0,
                ["truncated"] = rows.Count == 0 && states.Count > 0,
                ["records"] = new JsonArray(rows.Select(r => (JsonNode)(r.Record is { } record
                    ? LogRecordText.Json(record, values)
                    : new JsonObject { ["position"] = r.Position, ["error"] = KhonsuTarget.OneLine(r.Error!) })).ToArray()),
                ["transactionLog"] = new JsonArray(states.Select(s => (JsonNode)new JsonObject
                {
                    ["participant"] = s.Participant,
                    ["status"] = s.Status,
                    ["decision"] = s.Decision,
                    ["finishedAt"] = s.FinishedAt,
                    ["abortReason"] = s.Reason is null ? null : target.Scrub(s.Reason),
                }).ToArray()),
                ["transactionLogUnavailable"] = transactionLog.Unavailable,
            };
            await context.Output.WriteLineAsync(json.ToJsonString(CliRunner.JsonOptions)).ConfigureAwait(false);
        }
        else if (rows.Count > 0 || states.Count > 0)
        {
            await context.Output.WriteLineAsync($"Transaction {id}").ConfigureAwait(false);
            if (rows.Count == 0)
            {
                // Truncation deletes an ended transaction's records; transaction_log keeps its rows for the retention.
                await context.Output.WriteLineAsync("  its records are no longer in the log: it ended, and the log deletes an ended transaction's records a minute later").ConfigureAwait(false);
            }

            var maxRows = context.ParseResult.GetValue(MaxRows);
            foreach (var row in rows)
            {
                var lines = row.Record is { } record ? LogRecordText.Block(record, values, maxRows) : [LogRecordText.Undecodable(row.Position, row.Error!)];
                foreach (var line in lines)
                {
                    await context.Output.WriteLineAsync("  " + line).ConfigureAwait(false);
                }
            }

            await context.Output.WriteLineAsync(transactionLog.Unavailable is { } why ? $"transaction_log: not available ({why})" : "transaction_log:").ConfigureAwait(false);
            foreach (var state in states)
            {
                var finished = state.FinishedAt is null ? string.Empty : $"  finished {state.FinishedAt}";
                var reason = state.Reason is null ? string.Empty : $"  ({target.Scrub(state.Reason)})";
                await context.Output.WriteLineAsync($"  {state.Participant}  {state.Status}  decision {state.Decision ?? "none"}{finished}{reason}").ConfigureAwait(false);
            }
        }

        if (rows.Count == 0 && states.Count == 0)
        {
            await Console.Error.WriteLineAsync(
                $"khonsu: transaction {id} is not in the commit log '{target.LogPath}' nor in transaction_log: it never committed (presumed abort), or it finished longer ago than TransactionLogRetention and its history was deleted").ConfigureAwait(false);
            return ExitCodes.Attention;
        }

        return ExitCodes.Ok;
    }
}
