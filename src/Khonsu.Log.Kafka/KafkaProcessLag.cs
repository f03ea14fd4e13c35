namespace Khonsu.Log.Kafka;

/// <summary>
/// How far one process of a Kafka log is behind the log's end, from the position it published.
/// </summary>
/// <param name="Position">What the process published last.</param>
/// <param name="Records">Records in the log after the last one it applied (its position as published).</param>
/// <param name="Behind">
/// How long the oldest record it has not applied has been in the log (now minus that record's
/// Kafka timestamp); zero when it has applied everything. It keeps growing for a process that
/// stopped publishing: see <see cref="Silence"/>.
/// </param>
/// <param name="Silence">How long ago the process published it (clocks of different machines may differ a little).</param>
internal sealed record KafkaProcessLag(KafkaProcessPosition Position, long Records, TimeSpan Behind, TimeSpan Silence);
