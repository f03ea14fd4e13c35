using Khonsu.Data;
using Khonsu.Engine.Coordination;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>
/// A Kafka log's identity is its cluster's id and its topic: a database claimed by one topic is
/// refused to a runtime of another. A shared log keeps PrepareLease: another live process may
/// still decide a transaction, so a restart does not abort it at once as an embedded log's holder does.
/// </summary>
public sealed class KafkaLogFenceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_database_of_one_kafka_log_is_refused_to_a_runtime_of_another_topic()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        var first = await db.OpenAsync();
        await using (first)
        {
            Assert.StartsWith("kafka:", first.Runtime.Log.Identity.Id, StringComparison.Ordinal);
            Assert.EndsWith("/" + db.Log[(db.Log.LastIndexOf('/') + 1)..], first.Runtime.Log.Identity.Id, StringComparison.Ordinal);
        }

        var otherTopic = await db.Cluster.CreateLogAsync();
        await using var other = new KhonsuConnection(db.ConnectionString().Replace(db.Log, otherTopic, StringComparison.Ordinal));

        var refused = await Assert.ThrowsAsync<KhonsuException>(() => other.OpenAsync());

        Assert.Equal("55000", refused.SqlState);
        Assert.Contains($"belongs to another commit log: it records Kafka log {db.Log} (cluster ", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"this connection string's log is Kafka log {otherTopic} (cluster ", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_a_shared_log_a_restart_leaves_a_prepared_transaction_to_its_lease()
    {
        await using var db = await KafkaDatabases.CreateAsync();
        await db.InstallAsync();
        using (var crashed = ChildProcess.Start("crash", db.ConnectionString(), CommitStep.AfterParticipantPrepared, 2, 25))
        {
            await crashed.ReadUntilAsync("AT ", Patience);
            await crashed.KillAsync();
        }

        // Default lease (60 s): another process of the log could still be deciding it.
        await using (var restarted = await db.OpenAsync())
        {
            Assert.Equal(1L, Convert.ToInt64(await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"), System.Globalization.CultureInfo.InvariantCulture));
        }

        await using var afterLease = await db.OpenAsync(";PrepareLease=0.001");
        Assert.Equal(0L, Convert.ToInt64(await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"), System.Globalization.CultureInfo.InvariantCulture));
    }
}
