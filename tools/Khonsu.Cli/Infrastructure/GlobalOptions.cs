using System.CommandLine;
using System.Globalization;

namespace Khonsu.Cli.Infrastructure;

/// <summary>Options every command takes (recursive on the root command).</summary>
internal static class GlobalOptions
{
    public const string ConnectionVariable = "KHONSU_CONNECTION_STRING";

    public static readonly Option<string?> Connection = new("--connection", "-c")
    {
        Description = $"The Khonsu connection string (starts with 'Khonsu:'). Default: the environment variable {ConnectionVariable}. Prefer the variable: a command line is visible to other users in the process list.",
        HelpName = "connection-string",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write machine-readable JSON to stdout instead of text (log tail: one JSON object per line).",
        Recursive = true,
    };

    public static readonly Option<double> Timeout = new("--timeout")
    {
        Description = "Seconds to wait when connecting to each backend before calling it unreachable.",
        HelpName = "seconds",
        DefaultValueFactory = _ => 15,
        Recursive = true,
    };

    static GlobalOptions()
    {
        Timeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() <= 0)
            {
                result.AddError("--timeout must be a number of seconds greater than 0.");
            }
        });
    }

    public static string FormatSeconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
