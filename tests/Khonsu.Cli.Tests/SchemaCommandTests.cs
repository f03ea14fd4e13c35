using System.Text.Json;

namespace Khonsu.Cli.Tests;

/// <summary>`khonsu schema check` and `install` on a real SQLite file and a real PostgreSQL database.</summary>
public class SchemaCommandTests
{
    [Fact]
    public async Task Check_reports_what_is_missing_per_backend_until_install_adds_it()
    {
        await using var db = await CliDatabases.CreateAsync();

        var before = await CliRun.RunAsync(db.ConnectionString(), "schema", "check");
        Assert.True(before.ExitCode == 2, before.ToString());
        Assert.Contains("table accounts: missing version column 'version'", before.Stdout, StringComparison.Ordinal);
        Assert.Contains("table accounts: missing Khonsu's triggers", before.Stdout, StringComparison.Ordinal);
        Assert.Contains("missing: Khonsu's table khonsu_applied", before.Stdout, StringComparison.Ordinal);
        Assert.Contains("table public.orders: missing version column 'version'", before.Stdout, StringComparison.Ordinal);
        Assert.Contains("missing: Khonsu's table khonsu.applied", before.Stdout, StringComparison.Ordinal);
        Assert.Contains("missing: Khonsu's table khonsu_log_owner", before.Stdout, StringComparison.Ordinal);
        Assert.Contains("missing: Khonsu's table khonsu.log_owner", before.Stdout, StringComparison.Ordinal);
        Assert.Equal(true, await db.PostgresScalarAsync("SELECT to_regclass('khonsu.applied') IS NULL")); // check changed nothing

        var install = await CliRun.RunAsync(db.ConnectionString(), "schema", "install");
        Assert.True(install.ExitCode == 0, install.ToString());
        Assert.Contains("ledger (Sqlite, ", install.Stdout, StringComparison.Ordinal);
        Assert.Contains("ok, 1 table tracked", install.Stdout, StringComparison.Ordinal);

        var after = await CliRun.RunAsync(db.ConnectionString(), "schema", "check", "--json");
        Assert.True(after.ExitCode == 0, after.ToString());
        using var json = JsonDocument.Parse(after.Stdout);
        Assert.True(json.RootElement.GetProperty("ok").GetBoolean());
        Assert.All(json.RootElement.GetProperty("backends").EnumerateArray(), b => Assert.Equal(0, b.GetProperty("missing").GetArrayLength()));

        // A table created later, outside Khonsu, is missing its version column and triggers again.
        await db.PostgresScalarAsync("CREATE TABLE refunds (id integer PRIMARY KEY)");
        var later = await CliRun.RunAsync(db.ConnectionString(), "schema", "check");
        Assert.True(later.ExitCode == 2, later.ToString());
        Assert.Contains("table public.refunds: missing version column 'version'", later.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("accounts", later.Stdout, StringComparison.Ordinal);
    }
}
