using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// The Kafka log and the mock cluster run on the librdkafka that librdkafka.redist ships, and on no
/// other: on a machine with a system librdkafka (Debian's librdkafka1 and -dev) the calls must not
/// go there, and a machine without one must not need it.
/// </summary>
public sealed class BundledLibraryTests
{
    /// <summary>librdkafka.redist's version, pinned with Confluent.Kafka's in Directory.Packages.props.</summary>
    private const string BundledVersion = "2.16.";

    [Fact]
    public async Task The_log_in_this_process_calls_the_bundled_library_only()
    {
        await using var cluster = await KafkaMockCluster.StartAsync();
        await using var log = await LogRecords.OpenAsync(await cluster.CreateLogAsync());
        await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, TransactionId.New()));

        Assert.StartsWith(BundledVersion, Confluent.Kafka.Library.VersionString, StringComparison.Ordinal);
        var bundled = Assert.Single(KafkaNative.MappedLibraries());
        Assert.Equal(KafkaNative.BundledFileName, Path.GetFileName(bundled));
        Assert.StartsWith(Path.GetFullPath(AppContext.BaseDirectory), bundled, StringComparison.Ordinal);
        Assert.Equal(KafkaNative.BundledPath, bundled);
    }

    [Fact]
    public async Task The_mock_cluster_runs_on_the_same_bundled_library()
    {
        await using var cluster = await KafkaMockCluster.StartAsync();

        var (version, mapped) = await cluster.LibraryAsync();

        Assert.StartsWith(BundledVersion, version, StringComparison.Ordinal);
        Assert.Equal(KafkaNative.BundledFileName, Path.GetFileName(Assert.Single(mapped.Split(',', StringSplitOptions.RemoveEmptyEntries))));
    }
}
