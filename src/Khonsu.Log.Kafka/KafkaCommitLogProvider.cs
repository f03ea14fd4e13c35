using Khonsu.Engine.Log;

[assembly: CommitLogProvider(typeof(Khonsu.Log.Kafka.KafkaCommitLogProvider))]

namespace Khonsu.Log.Kafka;

/// <summary>What Khonsu.Data finds by assembly name for <c>Log=kafka://host:port/topic</c>.</summary>
internal sealed class KafkaCommitLogProvider : ICommitLogProvider
{
    public async Task<ICommitLog> OpenAsync(string location, IReadOnlyDictionary<string, string> settings, string nodeId, Action<string>? warning, CancellationToken cancellationToken)
        => await KafkaCommitLog.OpenAsync(
            new KafkaCommitLogOptions { Address = KafkaLogAddress.Parse(location), ClientSettings = settings, NodeId = nodeId, Warning = warning },
            cancellationToken).ConfigureAwait(false);
}
