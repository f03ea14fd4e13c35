using System.Runtime.InteropServices;

namespace Khonsu.Log.Kafka;

/// <summary>
/// The Kafka cluster's id, as the brokers report it in their metadata (Kafka 0.10 and later): half
/// of a Kafka log's identity (the topic is the other half). It comes from librdkafka's own
/// rd_kafka_clusterid (bound to the bundled library by <see cref="KafkaNative"/>), through a short-lived client
/// with the log's connection settings (security, SASL, TLS). The id is stable for the cluster's whole
/// life and survives broker restarts; a cluster built anew gets a new one, which is a new log.
/// </summary>
internal static partial class KafkaClusterId
{
    private const int ProducerType = 0; // RD_KAFKA_PRODUCER: it sends nothing, it only asks for metadata
    private const int ConfigOk = 0; // RD_KAFKA_CONF_OK

    /// <summary>Asks the brokers for the cluster id, waiting at most <paramref name="timeout"/>; null when none answered in time.</summary>
    /// <param name="settings">librdkafka settings (bootstrap.servers and the passthrough ones).</param>
    /// <exception cref="ArgumentException">librdkafka refused a setting or the client.</exception>
    public static string? Query(IReadOnlyDictionary<string, string> settings, TimeSpan timeout)
    {
        var error = new byte[512];
        var config = ConfNew();
        foreach (var (key, value) in settings.Append(new("log_level", "0"))) // its own connection errors are reported by the caller
        {
            if (ConfSet(config, key, value, error, (nuint)error.Length) != ConfigOk)
            {
                ConfDestroy(config);
                throw new ArgumentException($"Kafka setting '{key}': {Text(error)}", nameof(settings));
            }
        }

        var client = KafkaNew(ProducerType, config, error, (nuint)error.Length);
        if (client == IntPtr.Zero)
        {
            ConfDestroy(config); // rd_kafka_new takes the configuration only when it succeeds
            throw new ArgumentException("librdkafka could not create a client to read the cluster id: " + Text(error), nameof(settings));
        }

        try
        {
            var id = ClusterIdOf(client, (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue));
            if (id == IntPtr.Zero)
            {
                return null;
            }

            try
            {
                return Marshal.PtrToStringUTF8(id);
            }
            finally
            {
                MemFree(client, id);
            }
        }
        finally
        {
            Destroy(client);
        }
    }

    private static string Text(byte[] error) => System.Text.Encoding.UTF8.GetString(error).TrimEnd('\0');

    [LibraryImport(KafkaNative.LibraryName, EntryPoint = "rd_kafka_conf_new")]
    private static partial IntPtr ConfNew();

    [LibraryImport(KafkaNative.LibraryName, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ConfSet(IntPtr config, string name, string value, byte[] error, nuint errorSize);

    [LibraryImport(KafkaNative.LibraryName, EntryPoint = "rd_kafka_conf_destroy")]
    private static partial void ConfDestroy(IntPtr config);

    [LibraryImport(KafkaNative.LibraryName, EntryPoint = "rd_kafka_new")]
    private static partial IntPtr KafkaNew(int type, IntPtr config, byte[] error, nuint errorSize);

    [LibraryImport(KafkaNative.LibraryName, EntryPoint = "rd_kafka_clusterid")]
    private static partial IntPtr ClusterIdOf(IntPtr client, int timeoutMilliseconds);

    [LibraryImport(KafkaNative.LibraryName, EntryPoint = "rd_kafka_mem_free")]
    private static partial void MemFree(IntPtr client, IntPtr pointer);

    [LibraryImport(KafkaNative.LibraryName, EntryPoint = "rd_kafka_destroy")]
    private static partial void Destroy(IntPtr client);
}
