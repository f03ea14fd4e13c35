using System.Xml.Linq;

namespace Khonsu.Engine.Tests.Architecture;

/// <summary>
/// Project references point one way (docs/architecture.md): the Engine references nothing of
/// Khonsu; Khonsu.Data references the Engine; a backend, the EF Core and DI packages reference
/// Khonsu.Data; the Kafka log references the Engine; nothing shipped references tests, tools,
/// benchmarks or samples; no tool, benchmark or sample references a test project. Read from the
/// .csproj files of the repository this test was built from.
/// </summary>
public sealed class DependencyDirectionTests
{
    /// <summary>What each shipped project may reference (repository-relative project directories).</summary>
    private static readonly Dictionary<string, string[]> AllowedInSrc = new(StringComparer.Ordinal)
    {
        ["src/Engine"] = [],
        ["src/Khonsu.Data"] = ["src/Engine"],
        ["src/Khonsu.Data.Sqlite"] = ["src/Khonsu.Data", "src/Engine"],
        ["src/Khonsu.Data.Postgres"] = ["src/Khonsu.Data", "src/Engine"],
        ["src/Khonsu.EntityFrameworkCore"] = ["src/Khonsu.Data", "src/Engine"],
        ["src/Khonsu.Data.DependencyInjection"] = ["src/Khonsu.Data", "src/Engine"],
        ["src/Khonsu.Log.Kafka"] = ["src/Engine"],
        ["src/Khonsu.Mirror"] = ["src/Khonsu.Data", "src/Engine"],
    };

    [Fact]
    public void Every_project_reference_points_down()
    {
        var root = RepositoryRoot();
        var violations = new List<string>();
        var projects = Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories)
            .Select(path => Relative(root, path))
            .Where(path => !path.Split('/').Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Contains("src/Engine/Khonsu.Engine.csproj", projects);

        foreach (var project in projects)
        {
            var from = Path.GetDirectoryName(project)!.Replace('\\', '/');
            foreach (var to in References(root, project))
            {
                if (Refused(from, to) is { } why)
                {
                    violations.Add($"{project} -> {to}: {why}");
                }
            }
        }

        Assert.True(violations.Count == 0, "Project references that point the wrong way:\n" + string.Join('\n', violations));
    }

    [Theory]
    [InlineData("src/Engine", "src/Khonsu.Data")]
    [InlineData("src/Khonsu.Data", "src/Khonsu.Data.Sqlite")]
    [InlineData("src/Khonsu.Data.Sqlite", "src/Khonsu.Data.Postgres")]
    [InlineData("src/Khonsu.Data.Postgres", "src/Khonsu.EntityFrameworkCore")]
    [InlineData("src/Khonsu.Log.Kafka", "src/Khonsu.Data")]
    [InlineData("src/Khonsu.Data", "tests/Khonsu.TestSupport")]
    [InlineData("tools/Khonsu.Checker", "tests/Khonsu.TestSupport")]
    [InlineData("benchmarks/Khonsu.Benchmarks", "tests/Khonsu.TestSupport")]
    [InlineData("src/Khonsu.Data", "tools/Khonsu.Testing")]
    public void The_rules_refuse_a_reference_that_points_up(string from, string to)
        => Assert.NotNull(Refused(from, to));

    [Theory]
    [InlineData("src/Khonsu.Data", "src/Engine")]
    [InlineData("src/Khonsu.Data.Postgres", "src/Khonsu.Data")]
    [InlineData("tools/Khonsu.Checker", "tools/Khonsu.Testing")]
    [InlineData("tests/Khonsu.TestSupport", "tools/Khonsu.Testing")]
    [InlineData("tests/Khonsu.Data.Tests", "tests/Khonsu.CrashChild")]
    public void The_rules_accept_a_reference_that_points_down(string from, string to)
        => Assert.Null(Refused(from, to));

    /// <summary>Why a reference from project directory <paramref name="from"/> to <paramref name="to"/> is refused, or null.</summary>
    private static string? Refused(string from, string to)
    {
        if (AllowedInSrc.TryGetValue(from, out var allowed))
        {
            return allowed.Contains(to, StringComparer.Ordinal)
                ? null
                : allowed.Length == 0
                    ? $"{from} references no other project"
                    : $"{from} may reference only {string.Join(", ", allowed)}";
        }

        if (from.StartsWith("src/", StringComparison.Ordinal))
        {
            return $"{from} is not in the table of shipped projects in {nameof(DependencyDirectionTests)}: add it with what it may reference";
        }

        var fromTests = from.StartsWith("tests/", StringComparison.Ordinal);
        return !fromTests && to.StartsWith("tests/", StringComparison.Ordinal)
            ? "only test projects reference test projects (shared development helpers go in tools/Khonsu.Testing)"
            : null;
    }

    private static IEnumerable<string> References(string root, string project)
    {
        var directory = Path.GetDirectoryName(Path.Combine(root, project))!;
        return XDocument.Load(Path.Combine(root, project))
            .Descendants()
            .Where(element => element.Name.LocalName == "ProjectReference")
            .Select(element => element.Attribute("Include")?.Value)
            .OfType<string>()
            .Select(include => Relative(root, Path.GetDirectoryName(Path.GetFullPath(Path.Combine(directory, include.Replace('\\', '/'))))!));
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Khonsu.Data.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Khonsu.Data.sln above {AppContext.BaseDirectory}.");
    }
}
