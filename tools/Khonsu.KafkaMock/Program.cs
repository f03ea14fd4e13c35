// Khonsu.KafkaMock: librdkafka's mock Kafka cluster in a process of its own, for tests.
//   dotnet Khonsu.KafkaMock.dll [--brokers N]
// Prints "BOOTSTRAP host:port[,host:port...]" on stdout, then serves until stdin closes (or it is
// killed). Data lives in memory, as long as this process. Fault commands, one per line on stdin,
// each answered by one line "OK" or "ERR <why>" (broker ids start at 1):
//   topic <name> <partitions> <replication>   create a topic
//   down <broker> | up <broker>               take a broker down (connections closed) / back up
//   rtt <broker> <ms>                         add round-trip latency to a broker's responses
//   errors <api-key> <error> [<error>...]     fail the next requests of that type (Produce = 0,
//                                              Fetch = 1, ListOffsets = 2, Metadata = 3), in order
//   topic-error <topic> <error>               make the topic report an error (0 clears it)
//   leader <topic> <partition> <broker>       move a partition's leader
//   library                                   "OK <librdkafka version> <files>": the librdkafka files mapped
using System.Globalization;
using System.Runtime.InteropServices;
using Khonsu.KafkaMock;

var brokers = 1;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--brokers" && i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out var n) && n > 0)
    {
        brokers = n;
    }
    else
    {
        await Console.Error.WriteLineAsync("usage: Khonsu.KafkaMock [--brokers N]");
        return 2;
    }
}

IntPtr handle;
try
{
    Khonsu.Log.Kafka.KafkaNative.EnsureLoaded();
    Khonsu.Log.Kafka.KafkaNative.RouteImportsOf(typeof(MockNative).Assembly);
    var error = new byte[512];
    handle = MockNative.KafkaNew(MockNative.Producer, IntPtr.Zero, error, (nuint)error.Length);
    if (handle == IntPtr.Zero)
    {
        await Console.Error.WriteLineAsync("rd_kafka_new failed: " + System.Text.Encoding.UTF8.GetString(error).TrimEnd('\0'));
        return 1;
    }
}
catch (InvalidOperationException error)
{
    await Console.Error.WriteLineAsync(error.Message);
    return 1;
}

var cluster = MockNative.ClusterNew(handle, brokers);
if (cluster == IntPtr.Zero)
{
    await Console.Error.WriteLineAsync("rd_kafka_mock_cluster_new failed");
    return 1;
}

Console.WriteLine("BOOTSTRAP " + Marshal.PtrToStringUTF8(MockNative.Bootstraps(cluster)));
await Console.Out.FlushAsync();

while (await Console.In.ReadLineAsync() is { } line)
{
    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    if (words.Length == 0)
    {
        continue;
    }

    string answer;
    try
    {
        answer = Run(cluster, words);
    }
    catch (FormatException)
    {
        answer = "ERR bad number in: " + line;
    }

    Console.WriteLine(answer);
    await Console.Out.FlushAsync();
}

MockNative.ClusterDestroy(cluster);
MockNative.KafkaDestroy(handle);
return 0;

static string Run(IntPtr cluster, string[] words)
{
    static int Int(string text) => int.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    static string Result(int error) => error == 0 ? "OK" : "ERR " + Marshal.PtrToStringUTF8(MockNative.ErrorText(error));

    switch (words[0].ToLowerInvariant())
    {
        case "topic" when words.Length == 4:
            return Result(MockNative.TopicCreate(cluster, words[1], Int(words[2]), Int(words[3])));
        case "down" when words.Length == 2:
            return Result(MockNative.BrokerSetDown(cluster, Int(words[1])));
        case "up" when words.Length == 2:
            return Result(MockNative.BrokerSetUp(cluster, Int(words[1])));
        case "rtt" when words.Length == 3:
            return Result(MockNative.BrokerSetRtt(cluster, Int(words[1]), Int(words[2])));
        case "errors" when words.Length >= 3:
            var errors = words[2..].Select(Int).ToArray();
            MockNative.PushRequestErrors(cluster, (short)Int(words[1]), (nuint)errors.Length, errors);
            return "OK";
        case "topic-error" when words.Length == 3:
            MockNative.TopicSetError(cluster, words[1], Int(words[2]));
            return "OK";
        case "leader" when words.Length == 4:
            return Result(MockNative.PartitionSetLeader(cluster, words[1], Int(words[2]), Int(words[3])));
        case "library" when words.Length == 1:
            return $"OK {Marshal.PtrToStringUTF8(MockNative.VersionText())} {string.Join(',', Khonsu.Log.Kafka.KafkaNative.MappedLibraries())}";
        default:
            return "ERR unknown command: " + string.Join(' ', words);
    }
}
