using System.Xml.Linq;

namespace Khonsu.Packaging.Tests;

/// <summary>What a user sees on each package's page and gets in IntelliSense and the debugger.</summary>
[Collection(PackagesCollection.Name)]
public sealed class PackageMetadataTests(PackedKhonsu packages)
{
    public static TheoryData<string> Ids => new(PackedKhonsu.PackageIds);

    public static TheoryData<string> Libraries => new(PackedKhonsu.PackageIds.Where(id => id != "Khonsu.Cli"));

    [Fact]
    public void The_solution_packs_exactly_the_released_packages_each_with_its_symbols()
    {
        var packed = Directory.GetFiles(packages.Feed).Select(path => Path.GetFileName(path)).Order(StringComparer.Ordinal).ToList();
        var expected = PackedKhonsu.PackageIds
            .SelectMany(id => new[] { $"{id}.{packages.Version}.nupkg", $"{id}.{packages.Version}.snupkg" })
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(expected, packed);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void A_package_carries_a_description_license_authors_tags_repository_and_its_README(string id)
    {
        var (metadata, files) = packages.Open(id);

        Assert.Equal(packages.Version, Value(metadata, "version"));
        var description = Value(metadata, "description");
        Assert.False(string.IsNullOrWhiteSpace(description), $"{id}: no description");
        Assert.NotEqual("Package Description", description);
        var authors = Value(metadata, "authors");
        // The SDK's default is the assembly name (the tool's is "khonsu").
        Assert.NotEqual(id, authors);
        Assert.NotEqual("khonsu", authors);
        var license = Element(metadata, "license");
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value);
        Assert.Contains("LICENSE", files);
        Assert.Equal("README.md", Value(metadata, "readme"));
        Assert.Contains("README.md", files);
        Assert.Contains("khonsu", Value(metadata, "tags").Split(' '));
        Assert.Equal("git", Element(metadata, "repository").Attribute("type")?.Value);
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void A_library_ships_its_XML_docs_and_a_symbols_package_with_the_sources_embedded(string id)
    {
        var (_, files) = packages.Open(id);
        Assert.Contains($"lib/net10.0/{id}.dll", files);
        Assert.Contains($"lib/net10.0/{id}.xml", files);
        Assert.True(File.Exists(packages.PackagePath(id, symbols: true)), $"{id}: no symbols package");
        using var symbols = System.IO.Compression.ZipFile.OpenRead(packages.PackagePath(id, symbols: true));
        Assert.Contains($"lib/net10.0/{id}.pdb", symbols.Entries.Select(entry => entry.FullName));
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void A_library_depends_on_the_other_Khonsu_packages_at_exactly_its_own_version(string id)
    {
        var (metadata, _) = packages.Open(id);
        var khonsu = metadata.Descendants()
            .Where(element => element.Name.LocalName == "dependency")
            .Where(dependency => dependency.Attribute("id")!.Value.StartsWith("Khonsu.", StringComparison.Ordinal))
            .ToList();
        Assert.True(id == "Khonsu.Engine" || khonsu.Count > 0, $"{id} depends on no Khonsu package");
        Assert.All(khonsu, dependency => Assert.Equal($"[{packages.Version}]", dependency.Attribute("version")!.Value));
    }

    [Fact]
    public void The_tool_package_installs_the_khonsu_command()
    {
        var (metadata, files) = packages.Open("Khonsu.Cli");
        var types = metadata.Descendants().Where(element => element.Name.LocalName == "packageType").Select(element => element.Attribute("name")?.Value);
        Assert.Contains("DotnetTool", types);
        Assert.Contains(files, file => file.StartsWith("tools/net10.0/any/", StringComparison.Ordinal) && file.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal));
    }

    private static XElement Element(XElement metadata, string name) =>
        metadata.Elements().SingleOrDefault(element => element.Name.LocalName == name)
        ?? throw new Xunit.Sdk.XunitException($"the package has no <{name}>");

    private static string Value(XElement metadata, string name) => Element(metadata, name).Value;
}
