using System.CommandLine;
using System.Text.Json;
using Khonsu.Data;

namespace Khonsu.Cli.Infrastructure;

/// <summary>
/// Runs a command's action and turns every failure into one line on stderr and an exit code:
/// never a stack trace, never a connection string's secret.
/// </summary>
internal static class CliRunner
{
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static readonly JsonSerializerOptions JsonLineOptions = new() { WriteIndented = false };

    public static async Task<int> RunAsync(ParseResult parseResult, Func<CommandContext, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        var context = new CommandContext(parseResult, Console.Out);
        try
        {
            return await action(context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("khonsu: interrupted").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }
        catch (CliException error)
        {
            await Console.Error.WriteLineAsync("khonsu: error: " + error.Message).ConfigureAwait(false);
            return error.ExitCode;
        }
        catch (Exception error)
        {
            await Console.Error.WriteLineAsync("khonsu: error: " + Scrub(context, KhonsuTarget.OneLine(Innermost(error)))).ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        finally
        {
            await Console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static Exception Innermost(Exception error)
        => error is AggregateException { InnerException: { } inner } ? Innermost(inner) : error;

    /// <summary>Scrubs a message with every backend's secrets, when the connection string can be parsed at all.</summary>
    private static string Scrub(CommandContext context, string message)
    {
        try
        {
            return context.Target().Scrub(message);
        }
        catch (Exception error) when (error is CliException or KhonsuException)
        {
            return message;
        }
    }
}
