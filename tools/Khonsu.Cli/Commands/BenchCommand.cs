using System.CommandLine;
using System.Diagnostics;
using Khonsu.Cli.Infrastructure;

namespace Khonsu.Cli.Commands;

/// <summary>
/// `khonsu bench`: runs the benchmark project of a Khonsu checkout
/// (dotnet run -c Release --project benchmarks/Khonsu.Benchmarks -- args), passing its exit code on.
/// </summary>
internal static class BenchCommand
{
    public const string ProjectDirectory = "benchmarks/Khonsu.Benchmarks";

    private static readonly Option<string?> Repo = new("--repo")
    {
        Description = "The Khonsu checkout that holds benchmarks/Khonsu.Benchmarks. Default: the current directory or the nearest parent holding Khonsu.Data.sln.",
        HelpName = "directory",
    };

    private static readonly Argument<string[]> Arguments = new("benchmark-arguments")
    {
        Description = "Passed to the benchmark program unchanged; put them after `--`, e.g. `khonsu bench -- --filter '*Commit*'`.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Command Create()
    {
        var command = new Command(
            "bench",
            $"Run the benchmark suite: `dotnet run -c Release --project <repo>/{ProjectDirectory} -- <benchmark-arguments>`. " +
            "Needs the .NET SDK and a Khonsu checkout. The connection string, if given, reaches the benchmarks as KHONSU_CONNECTION_STRING. " +
            "Exit code: the benchmark program's, or 4 when the project is absent.")
        {
            Repo,
            Arguments,
        };
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(parseResult, ExecuteAsync, cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var repo = context.ParseResult.GetValue(Repo) is { Length: > 0 } given ? Path.GetFullPath(given) : FindCheckout(Environment.CurrentDirectory);
        var project = repo is null ? null : Path.Combine(repo, ProjectDirectory);
        if (project is null || !Directory.Exists(project) || Directory.GetFiles(project, "*.csproj").Length == 0)
        {
            var where = repo is null ? "no Khonsu checkout (a directory with Khonsu.Data.sln) here or above" : $"'{project}' holds no project";
            throw new CliException(ExitCodes.Failed, $"the benchmark project is absent: {where}; run from a checkout that has {ProjectDirectory}, or pass --repo.");
        }

        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (var argument in new[] { "run", "-c", "Release", "--project", project, "--" }.Concat(context.ParseResult.GetValue(Arguments) ?? []))
        {
            start.ArgumentList.Add(argument);
        }

        if (context.ParseResult.GetValue(GlobalOptions.Connection) is { Length: > 0 } connection)
        {
            start.Environment[GlobalOptions.ConnectionVariable] = connection;
        }

        using var process = Process.Start(start) ?? throw new CliException(ExitCodes.Failed, "could not start `dotnet`: is the .NET SDK installed?");
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return process.ExitCode;
    }

    private static string? FindCheckout(string from)
    {
        for (var directory = new DirectoryInfo(from); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Khonsu.Data.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
