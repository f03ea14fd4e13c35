using System.CommandLine;
using System.Globalization;
using Apache.Arrow;
using Khonsu.Cli.Infrastructure;
using Khonsu.Mirror.Changes;

namespace Khonsu.Cli.Commands;

/// <summary>`khonsu changes tail`: the change stream, one line per row change, or as Arrow IPC streams (docs/mirror.md). Read-only.</summary>
internal static class ChangesCommand
{
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(500);

    private static readonly Option<long> From = new("--from")
    {
        Description = "The log position to start at.",
        HelpName = "POSITION",
        DefaultValueFactory = _ => 0,
    };

    private static readonly Option<bool> Follow = new("--follow", "-f")
    {
        Description = "Keep watching the log and print changes as transactions commit, until Ctrl-C.",
    };

    private static readonly Option<string?> Arrow = new("--arrow")
    {
        Description = "Write the batches as Arrow IPC streams instead of text: one per table (a stream has one schema), FILE.<backend>.<table>.arrows.",
        HelpName = "FILE",
    };

    public static Command Create()
    {
        From.Validators.Add(r => { if (r.GetValueOrDefault<long>() < 0) { r.AddError("--from must be 0 or more."); } });
        var tail = new Command("tail", "Print the change stream of the followed tables (Follow.<backend>=...): each committed transaction in commit-log order, one line per row change: position, transaction, backend.table, operation, key, the row after. Read-only.")
        {
            From,
            Follow,
            Arrow,
        };
        tail.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, TailAsync, cancellationToken));
        return new Command("changes", "The commit log as a change stream (docs/mirror.md).") { tail };
    }

    private static async Task<int> TailAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var stream = await KhonsuChangeStream.OpenAsync(context.ConnectionString(), cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var arrow = context.ParseResult.GetValue(Arrow) is { } prefix ? new ArrowFiles(prefix) : null;
            try
            {
                var next = context.ParseResult.GetValue(From);
                while (true)
                {
                    await foreach (var group in stream.ReadAsync(next, 100, cancellationToken).ConfigureAwait(false))
                    {
                        foreach (var batch in group.Batches)
                        {
                            if (arrow is not null)
                            {
                                await arrow.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                            }
                            else
                            {
                                await WriteTextAsync(context.Output, batch).ConfigureAwait(false);
                            }
                        }

                        next = group.ThroughPosition + 1;
                    }

                    await context.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                    if (!context.ParseResult.GetValue(Follow))
                    {
                        return ExitCodes.Ok;
                    }

                    await Task.Delay(FollowInterval, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                if (arrow is not null)
                {
                    await arrow.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>One line per row: position, transaction, backend.table, operation, key, then column=value for the row's columns.</summary>
    private static async Task WriteTextAsync(TextWriter output, RecordBatch batch)
    {
        var table = $"{ChangeGroup.BackendOf(batch)}.{ChangeGroup.TableOf(batch)}";
        var sourceColumns = batch.Schema.FieldsList.Skip(ChangeColumns.Count).Select((field, i) => (field.Name, Array: batch.Column(ChangeColumns.Count + i))).ToList();
        for (var row = 0; row < batch.Length; row++)
        {
            var values = string.Join(' ', sourceColumns.Select(c => $"{c.Name}={Text(c.Array, row)}"));
            await output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{Text(batch.Column(ChangeColumns.Position), row)} {Text(batch.Column(ChangeColumns.TransactionId), row)} {table} {Text(batch.Column(ChangeColumns.Operation), row)} key={Text(batch.Column(ChangeColumns.Key), row)} {values}")).ConfigureAwait(false);
        }
    }

    private static string Text(IArrowArray array, int row) => array.IsNull(row) ? "null" : array switch
    {
        Int64Array integers => integers.GetValue(row)!.Value.ToString(CultureInfo.InvariantCulture),
        DoubleArray reals => reals.GetValue(row)!.Value.ToString(CultureInfo.InvariantCulture),
        BooleanArray booleans => booleans.GetValue(row)!.Value ? "true" : "false",
        StringArray texts => texts.GetString(row),
        BinaryArray blobs => "0x" + Convert.ToHexString(blobs.GetBytes(row)),
        _ => "?",
    };
}
