namespace Khonsu.Packaging.Tests;

/// <summary>The tests that share one packing of the repository.</summary>
[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<PackedKhonsu>
{
    public const string Name = "packages";
}
