using Khonsu.TestSupport;

namespace Khonsu.Packaging.Tests;

/// <summary>The `khonsu` tool installed from its package, as docs/getting-started.md section 5 does (into a tool path, not globally).</summary>
[Collection(PackagesCollection.Name)]
public sealed class ToolInstallTests(PackedKhonsu packages)
{
    [Fact]
    public async Task The_tool_installs_from_the_package_folder_and_answers_help_and_status()
    {
        var directory = packages.NewDirectory("tool");
        var tools = Path.Combine(directory, "tools");
        var cli = packages.Cli;
        await cli.RunAsync(directory, "tool", "install", "Khonsu.Cli", "--tool-path", tools, "--add-source", packages.Feed, "--version", packages.Version);
        var khonsu = Path.Combine(tools, "khonsu");

        var help = await cli.RunProgramAsync(khonsu, directory, "--help");
        Assert.Contains("status", help, StringComparison.Ordinal);
        Assert.Contains("recover", help, StringComparison.Ordinal);

        await using var shop = await PostgresDatabase.CreateAsync("packaged_tool");
        await DirectSql.PostgresAsync(shop.ConnectionString, "CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL)");
        await DirectSql.SqliteAsync(Path.Combine(directory, "ledger.db"), "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)");
        var connectionString = $"Khonsu:Sqlite.ledger=\"Data Source=ledger.db\";Postgres.shop=\"{shop.ConnectionString}\";Log=khonsu-log.db";
        var environment = new Dictionary<string, string> { ["KHONSU_CONNECTION_STRING"] = connectionString };

        var install = await cli.TryRunProgramAsync(khonsu, directory, environment, "schema", "install");
        Assert.True(install.ExitCode == 0, $"khonsu schema install exited with {install.ExitCode}:\n{install.Output}");
        var status = await cli.TryRunProgramAsync(khonsu, directory, environment, "status");
        Assert.True(status.ExitCode == 0, $"khonsu status exited with {status.ExitCode}:\n{status.Output}");
        Assert.Contains("ledger", status.Output, StringComparison.Ordinal);
        Assert.Contains("shop", status.Output, StringComparison.Ordinal);
    }
}
