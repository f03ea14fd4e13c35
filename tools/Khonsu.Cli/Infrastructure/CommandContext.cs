using System.CommandLine;

namespace Khonsu.Cli.Infrastructure;

/// <summary>What a command's action needs from the command line, and the output it writes to.</summary>
internal sealed class CommandContext(ParseResult parseResult, TextWriter output)
{
    public ParseResult ParseResult { get; } = parseResult;

    public TextWriter Output { get; } = output;

    public bool Json => ParseResult.GetValue(GlobalOptions.Json);

    public TimeSpan ConnectTimeout => TimeSpan.FromSeconds(ParseResult.GetValue(GlobalOptions.Timeout));

    /// <summary>Parses the connection string (option, else environment) and builds the backends, contacting nothing.</summary>
    public KhonsuTarget Target() => KhonsuTarget.Create(ConnectionString());

    /// <summary>The connection string as given (option, else environment), for the commands that open what it names themselves.</summary>
    public string ConnectionString()
    {
        var connectionString = ParseResult.GetValue(GlobalOptions.Connection);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = Environment.GetEnvironmentVariable(GlobalOptions.ConnectionVariable);
        }

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new CliException(ExitCodes.Usage, $"no connection string: pass --connection or set {GlobalOptions.ConnectionVariable}.");
        }

        return connectionString;
    }
}
