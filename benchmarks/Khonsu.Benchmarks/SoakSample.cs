namespace Khonsu.Benchmarks;

/// <summary>
/// One look at a soak run after <see cref="Transactions"/> committed: throughput since the last
/// look, what is on disk (bytes) or held by the log, and the managed heap after a full collection.
/// </summary>
/// <param name="Held">What the log holds, in its own unit (embedded: khonsu_log records; Kafka: outcomes the index remembers).</param>
/// <param name="Stored">A second count (embedded: transaction_log rows; Kafka: the last checkpoint's bytes).</param>
/// <param name="Markers">Applied-markers in the backends (embedded only).</param>
/// <param name="P99Ms">The 99th percentile of transaction latency (retries included) since the last look.</param>
internal sealed record SoakSample(long Transactions, double Seconds, double WindowThroughput, double P99Ms, long DiskBytes, long Held, long Stored, long Markers, long HeapBytes);
