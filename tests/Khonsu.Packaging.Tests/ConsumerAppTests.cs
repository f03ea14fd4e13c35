using System.Text.Json;
using System.Text.RegularExpressions;
using Khonsu.TestSupport;
using Khonsu.Testing;

namespace Khonsu.Packaging.Tests;

/// <summary>
/// docs/getting-started.md followed as written, from packages: a new console app adds Khonsu from
/// the packed folder, runs the guide's example (its code taken from the guide itself), and the
/// transaction lands in SQLite and in PostgreSQL.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed partial class ConsumerAppTests(PackedKhonsu packages)
{
    private const string GuideConnectionString =
        "\"Khonsu:Sqlite.ledger=\\\"Data Source=ledger.db\\\";Postgres.shop=\\\"Host=127.0.0.1;Database=shop;Username=app\\\"\"";

    [Fact]
    public async Task A_new_console_app_runs_the_getting_started_transaction_across_SQLite_and_PostgreSQL_from_the_packages()
    {
        await using var shop = await PostgresDatabase.CreateAsync("packaged_shop");
        await DirectSql.PostgresAsync(shop.ConnectionString, "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id int NOT NULL, amount int NOT NULL)");
        var app = packages.NewDirectory("app");
        await DirectSql.SqliteAsync(Path.Combine(app, "ledger.db"), "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); INSERT INTO accounts VALUES (1, 100)");

        var cli = packages.Cli;
        await cli.RunAsync(app, "new", "console", "--name", "Shop", "--output", ".");
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), "<configuration><packageSources></packageSources></configuration>");
        await cli.RunAsync(app, "nuget", "add", "source", packages.Feed, "--name", "khonsu", "--configfile", "nuget.config");
        foreach (var package in new[] { "Khonsu.Data", "Khonsu.Data.Sqlite", "Khonsu.Data.Postgres" })
        {
            await cli.RunAsync(app, "add", "package", package, "--version", packages.Version);
        }

        await cli.RunAsync(app, "add", "package", "Dapper");
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), GuideExample(shop.ConnectionString));

        await cli.RunAsync(app, "run", "-c", "Release");

        Assert.Equal(90L, await DirectSql.SqliteScalarAsync(Path.Combine(app, "ledger.db"), "SELECT balance FROM accounts WHERE id = 1"));
        Assert.Equal("1:10", await DirectSql.PostgresScalarAsync(shop.ConnectionString, "SELECT string_agg(account_id || ':' || amount, ',') FROM orders"));
        foreach (var package in new[] { "Khonsu.Data", "Khonsu.Data.Sqlite", "Khonsu.Data.Postgres", "Khonsu.Engine" })
        {
            Assert.Equal(Path.GetFullPath(packages.Feed), RestoredFrom(package));
        }
    }

    /// <summary>The C# example of docs/getting-started.md, section 3, on this test's PostgreSQL database.</summary>
    private static string GuideExample(string shopConnectionString)
    {
        var guide = File.ReadAllText(Path.Combine(Built.RepositoryRoot, "docs", "getting-started.md"));
        var section = guide[guide.IndexOf("## 3.", StringComparison.Ordinal)..];
        var code = CSharpBlock().Match(section);
        Assert.True(code.Success, "docs/getting-started.md section 3 has no ```csharp example");
        Assert.True(
            code.Groups[1].Value.Contains(GuideConnectionString, StringComparison.Ordinal),
            $"the guide's example no longer opens {GuideConnectionString}; update this test with it");
        var connectionString = $"Khonsu:Sqlite.ledger=\"Data Source=ledger.db\";Postgres.shop=\"{shopConnectionString}\"";
        return code.Groups[1].Value.Replace(GuideConnectionString, JsonSerializer.Serialize(connectionString), StringComparison.Ordinal);
    }

    /// <summary>The source a package was restored from into the test's package cache.</summary>
    private string RestoredFrom(string id)
    {
        var metadata = Path.Combine(packages.PackageCache, id.ToLowerInvariant(), packages.Version, ".nupkg.metadata");
        using var document = JsonDocument.Parse(File.ReadAllText(metadata));
        return Path.GetFullPath(document.RootElement.GetProperty("source").GetString()!);
    }

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
