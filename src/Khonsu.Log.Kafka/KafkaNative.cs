using System.Reflection;
using System.Runtime.InteropServices;

namespace Khonsu.Log.Kafka;

/// <summary>
/// Points every librdkafka call of the process at the library that librdkafka.redist ships, once
/// per process: Confluent.Kafka's, Khonsu's own (<see cref="KafkaClusterId"/>) and the mock
/// cluster's (tools/Khonsu.KafkaMock, through <see cref="RouteImportsOf"/>).
/// </summary>
/// <remarks>
/// On glibc Linux x64 that is the redist's <c>centos8-librdkafka.so</c>: its plain
/// <c>librdkafka.so</c> needs libsasl2.so.3, which Debian does not ship. Calling
/// Confluent.Kafka's <c>Library.Load(path)</c> alone is not enough: it opens that file but then
/// binds its calls by the name "librdkafka", which the loader may resolve to a system librdkafka
/// (Debian's librdkafka-dev), so that two libraries are mapped and the system one serves. A
/// DllImport resolver on each calling assembly answers every librdkafka name with the bundled
/// library's handle instead. Confluent.Kafka also asks for "libdl", which Debian ships only as
/// libdl.so.2. Elsewhere (other architectures, musl, macOS, Windows) no resolver answers for
/// librdkafka, and Confluent.Kafka finds the redist's library for that platform by itself.
/// See docs/kafka-log.md, "The native library".
/// </remarks>
internal static class KafkaNative
{
    /// <summary>The name Khonsu's own imports use; the resolver maps it to the loaded library.</summary>
    public const string LibraryName = "librdkafka";

    /// <summary>The redist's build for glibc Linux x64 that needs no library Debian lacks.</summary>
    public const string BundledFileName = "centos8-librdkafka.so";

    private static readonly Lock Gate = new();
    private static readonly HashSet<Assembly> Routed = [];
    private static bool _loaded;
    private static IntPtr _bundled;

    /// <summary>The file of the bundled library this process uses, or null where Confluent.Kafka picks it (not glibc Linux x64).</summary>
    public static string? BundledPath { get; private set; }

    /// <exception cref="InvalidOperationException">The native library could not be loaded.</exception>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded)
            {
                return;
            }

            BundledPath = FindBundled();
            try
            {
                if (BundledPath is not null)
                {
                    _bundled = NativeLibrary.Load(BundledPath);
                }

                RouteImportsOf(typeof(Confluent.Kafka.Library).Assembly);
                RouteImportsOf(typeof(KafkaNative).Assembly);
                if (BundledPath is null)
                {
                    Confluent.Kafka.Library.Load();
                }
                else
                {
                    Confluent.Kafka.Library.Load(BundledPath);
                }
            }
            catch (Exception error) when (error is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException)
            {
                throw new InvalidOperationException(
                    $"The Kafka commit log could not load librdkafka ({BundledPath ?? "Confluent.Kafka's choice for this platform"}): {error.Message}. " +
                    $"It comes with the librdkafka.redist package (a dependency of Confluent.Kafka): publish the application with its runtimes folder, or, on Linux x64, with {BundledFileName} beside it.",
                    error);
            }

            _loaded = true;
        }
    }

    /// <summary>
    /// Makes <paramref name="assembly"/>'s imports of librdkafka (any of the names Confluent.Kafka
    /// uses) bind to the bundled library, and its "libdl" to libdl.so.2. Call after <see cref="EnsureLoaded"/>.
    /// </summary>
    public static void RouteImportsOf(Assembly assembly)
    {
        lock (Gate)
        {
            if (!Routed.Add(assembly))
            {
                return;
            }

            try
            {
                NativeLibrary.SetDllImportResolver(assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // The host set a resolver of its own for that assembly already: keep it.
            }
        }
    }

    /// <summary>The librdkafka files mapped into this process now (Linux: /proc/self/maps), to show which one serves.</summary>
    public static IReadOnlyList<string> MappedLibraries()
        => !File.Exists("/proc/self/maps")
            ? []
            : File.ReadLines("/proc/self/maps")
                .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var at and >= 0 ? line[at..] : string.Empty)
                .Where(path => Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal)
                .ToList();

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name == "libdl")
        {
            return NativeLibrary.TryLoad("libdl.so.2", out var libdl) ? libdl : IntPtr.Zero;
        }

        return name is LibraryName or "centos8-librdkafka" or BundledFileName or "librdkafka.so" or "librdkafka.so.1" ? _bundled : IntPtr.Zero;
    }

    /// <summary>
    /// centos8-librdkafka.so where the build or publish put it: in one of the runtime's native search
    /// directories (from the app's deps.json), beside the app or this assembly (a RID-specific
    /// publish), or under their runtimes/linux-x64/native (a portable build).
    /// </summary>
    private static string? FindBundled()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal))
        {
            return null;
        }

        var directories = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searched)
        {
            directories.AddRange(searched.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        foreach (var home in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(KafkaNative).Assembly.Location) })
        {
            if (!string.IsNullOrEmpty(home))
            {
                directories.Add(home);
                directories.Add(Path.Combine(home, "runtimes", "linux-x64", "native"));
            }
        }

        return directories.Select(directory => Path.GetFullPath(Path.Combine(directory, BundledFileName))).FirstOrDefault(File.Exists);
    }
}
