namespace Khonsu.Log.Kafka;

/// <summary>
/// How a <see cref="KafkaCommitLog"/> opened: the offset of the checkpoint it loaded (null when it
/// read the log from offset 0), how many records it then read to reach the log's end, and how long
/// opening took.
/// </summary>
internal sealed record KafkaLogOpening(long? CheckpointOffset, long RecordsReplayed, TimeSpan Elapsed);
