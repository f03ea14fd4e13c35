namespace Khonsu.Cli.Infrastructure;

/// <summary>An error the tool reports as one line, with the exit code it means.</summary>
internal sealed class CliException(int exitCode, string message, Exception? innerException = null) : Exception(message, innerException)
{
    public int ExitCode { get; } = exitCode;
}
