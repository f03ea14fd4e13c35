using System.Runtime.InteropServices;

namespace Khonsu.Log.Kafka;

/// <summary>
/// Loads the system's librdkafka (Debian: librdkafka1) into Confluent.Kafka, once per process.
/// Confluent.Kafka normally finds librdkafka in the librdkafka.redist package, which Khonsu
/// replaces by an empty placeholder; it also asks for "libdl", which Debian ships only as
/// libdl.so.2, hence the resolver.
/// </summary>
internal static class KafkaNative
{
    public const string LibraryName = "librdkafka.so.1";

    private static readonly Lock Gate = new();
    private static bool _loaded;

    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded)
            {
                return;
            }

            try
            {
                NativeLibrary.SetDllImportResolver(
                    typeof(Confluent.Kafka.Library).Assembly,
                    (name, _, _) => name == "libdl" ? NativeLibrary.Load("libdl.so.2") : IntPtr.Zero);
            }
            catch (InvalidOperationException)
            {
                // The host set a resolver of its own for Confluent.Kafka already: keep it.
            }

            try
            {
                Confluent.Kafka.Library.Load(LibraryName);
            }
            catch (Exception error) when (error is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException)
            {
                throw new InvalidOperationException(
                    $"The Kafka commit log needs the native library {LibraryName}, which could not be loaded ({error.Message}). " +
                    "Install it: apt-get install librdkafka1 (Debian/Ubuntu; version 1.9 or later).",
                    error);
            }

            _loaded = true;
        }
    }
}
