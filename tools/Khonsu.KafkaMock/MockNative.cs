using System.Runtime.InteropServices;

namespace Khonsu.KafkaMock;

/// <summary>librdkafka's mock-cluster API (rdkafka_mock.h), bound to the bundled library by KafkaNative.RouteImportsOf.</summary>
internal static partial class MockNative
{
    private const string Library = Khonsu.Log.Kafka.KafkaNative.LibraryName;

    public const int Producer = 0; // RD_KAFKA_PRODUCER

    [LibraryImport(Library, EntryPoint = "rd_kafka_new")]
    public static partial IntPtr KafkaNew(int type, IntPtr conf, byte[] errstr, nuint errstrSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_destroy")]
    public static partial void KafkaDestroy(IntPtr rk);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_new")]
    public static partial IntPtr ClusterNew(IntPtr rk, int brokers);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_destroy")]
    public static partial void ClusterDestroy(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
    public static partial IntPtr Bootstraps(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int TopicCreate(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_set_error", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void TopicSetError(IntPtr cluster, string topic, int error);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_partition_set_leader", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PartitionSetLeader(IntPtr cluster, string topic, int partition, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_down")]
    public static partial int BrokerSetDown(IntPtr cluster, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_up")]
    public static partial int BrokerSetUp(IntPtr cluster, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_rtt")]
    public static partial int BrokerSetRtt(IntPtr cluster, int brokerId, int rttMs);

    // The array form: the variadic rd_kafka_mock_push_request_errors cannot be called portably.
    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_push_request_errors_array")]
    public static partial void PushRequestErrors(IntPtr cluster, short apiKey, nuint count, int[] errors);

    [LibraryImport(Library, EntryPoint = "rd_kafka_version_str")]
    public static partial IntPtr VersionText();

    [LibraryImport(Library, EntryPoint = "rd_kafka_err2str")]
    public static partial IntPtr ErrorText(int error);
}
