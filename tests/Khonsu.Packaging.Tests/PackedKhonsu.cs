using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Khonsu.Testing;

namespace Khonsu.Packaging.Tests;

/// <summary>
/// The packages of this build, made once for all the tests with `dotnet pack` from the repository
/// (no build: the test project builds the packable projects first), in a folder of their own, with
/// the package cache every install of them uses.
/// </summary>
public sealed partial class PackedKhonsu : IAsyncLifetime
{
    /// <summary>Every package a release ships: the libraries and the `khonsu` tool.</summary>
    public static readonly string[] PackageIds =
    [
        "Khonsu.Engine", "Khonsu.Data", "Khonsu.Data.Sqlite", "Khonsu.Data.Postgres", "Khonsu.Log.Kafka",
        "Khonsu.EntityFrameworkCore", "Khonsu.Data.DependencyInjection", "Khonsu.Mirror", "Khonsu.Cli",
    ];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "khonsu-packaging-tests", Guid.NewGuid().ToString("N"));

    /// <summary>The folder the packages were packed into: the only source of Khonsu packages for the tests.</summary>
    public string Feed => Path.Combine(_root, "feed");

    /// <summary>The version every package carries (the repository's one version).</summary>
    public string Version { get; private set; } = "";

    /// <summary>The package cache (NUGET_PACKAGES) of every restore and install the tests run.</summary>
    public string PackageCache => Path.Combine(_root, "packages");

    internal DotnetCli Cli => new(PackageCache);

    /// <summary>A new empty directory under this fixture's folder, for one test's app or tool.</summary>
    public string NewDirectory(string name)
    {
        var path = Path.Combine(_root, $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        await Cli.RunAsync(
            Built.RepositoryRoot, "pack", Path.Combine(Built.RepositoryRoot, "Khonsu.Data.sln"),
            "-c", Built.Configuration, "--no-build", "-o", Feed);
        var data = Directory.GetFiles(Feed, "Khonsu.Data.*.nupkg")
            .Select(path => DataPackage().Match(Path.GetFileName(path)))
            .Single(match => match.Success);
        Version = data.Groups[1].Value;
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file still held open by a process a test started; it stays under the temp directory.
        }

        return Task.CompletedTask;
    }

    /// <summary>The path of package <paramref name="id"/> (or its symbols package) in the feed.</summary>
    public string PackagePath(string id, bool symbols = false) =>
        Path.Combine(Feed, $"{id}.{Version}.{(symbols ? "snupkg" : "nupkg")}");

    /// <summary>The package's manifest (its .nuspec) and the names of the files it holds.</summary>
    public (XElement Metadata, IReadOnlyList<string> Files) Open(string id)
    {
        using var archive = ZipFile.OpenRead(PackagePath(id));
        var files = archive.Entries.Select(entry => entry.FullName).ToList();
        var nuspec = archive.Entries.Single(entry => entry.FullName == $"{id}.nuspec");
        using var stream = nuspec.Open();
        var document = XDocument.Load(stream);
        var metadata = document.Root!.Elements().Single(element => element.Name.LocalName == "metadata");
        return (metadata, files);
    }

    [GeneratedRegex(@"^Khonsu\.Data\.(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\.nupkg$")]
    private static partial Regex DataPackage();
}
