using System.CommandLine;
using Khonsu.Cli.Commands;
using Khonsu.Cli.Infrastructure;

var root = new RootCommand(
    "khonsu: look after the databases a Khonsu connection string names and its commit log.\n" +
    $"The connection string comes from --connection or the environment variable {GlobalOptions.ConnectionVariable}.\n\n" +
    ExitCodes.Help)
{
    GlobalOptions.Connection,
    GlobalOptions.Json,
    GlobalOptions.Timeout,
    StatusCommand.Create(),
    TopCommand.Create(),
    RecoverCommand.Create(),
    LogCommand.Create(),
    SchemaCommand.Create(),
    ChangesCommand.Create(),
    MirrorCommand.Create(),
    BenchCommand.Create(),
};

return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
