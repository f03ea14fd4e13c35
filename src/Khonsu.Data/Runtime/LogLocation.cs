using System.Collections.Concurrent;
using System.Reflection;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Engine.Log;

namespace Khonsu.Data.Runtime;

/// <summary>
/// Which commit log a connection string names, and opening it: the <c>Log</c> key is either a log
/// URI (<c>kafka://host:port[,host:port]/topic</c>, served by the assembly Khonsu.Log.Kafka, found
/// by name so that Khonsu.Data does not depend on Kafka), or the path of the embedded log's file;
/// without it the embedded log lives next to the first SQLite database, else in the current directory.
/// </summary>
internal static class LogLocation
{
    public const string DefaultFileName = "khonsu-log.db";

    /// <summary>SqlState of "the embedded log is held by another process or runtime" (PostgreSQL's object_in_use).</summary>
    public const string InUseSqlState = "55006";

    private const string KafkaScheme = "kafka://";
    private const string KafkaAssembly = "Khonsu.Log.Kafka";

    private static readonly ConcurrentDictionary<string, ICommitLogProvider> Providers = new(StringComparer.Ordinal);

    public static bool IsKafka(string? log) => log?.Trim().StartsWith(KafkaScheme, StringComparison.OrdinalIgnoreCase) == true;

    public static async Task<ICommitLog> OpenAsync(
        KhonsuSettings settings, IReadOnlyList<KhonsuBackend> backends, string nodeId, Action<string>? warning, CancellationToken cancellationToken)
    {
        if (!IsKafka(settings.LogPath))
        {
            try
            {
                return EmbeddedCommitLog.Open(Resolve(settings, backends), nodeId);
            }
            catch (CommitLogInUseException error)
            {
                // Not transient for a retry policy: it lasts as long as the other holder runs.
                throw new KhonsuException("Key 'Log': " + error.Message, InUseSqlState, isTransient: false, transactionId: null, error);
            }
        }

        var provider = Providers.GetOrAdd(KafkaAssembly, LoadProvider);
        try
        {
            return await provider.OpenAsync(settings.LogPath!.Trim(), settings.LogSettings, nodeId, warning, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is ArgumentException or InvalidOperationException or CommitLogUnavailableException)
        {
            var transient = error is CommitLogUnavailableException;
            throw new KhonsuException($"Key 'Log': the Kafka commit log could not be opened: {ScrubLogSecrets(error.Message, settings)}", "08001", transient, null, error);
        }
    }

    /// <summary>
    /// A Kafka log's name where a materialised transaction_log keeps its progress: the topic alone,
    /// since processes may list the same brokers differently.
    /// </summary>
    public static string KafkaTopic(string log)
    {
        var trimmed = log.Trim();
        return trimmed[(trimmed.LastIndexOf('/') + 1)..];
    }

    public static string Resolve(KhonsuSettings settings, IReadOnlyList<KhonsuBackend> backends)
    {
        if (!string.IsNullOrWhiteSpace(settings.LogPath))
        {
            return Path.GetFullPath(settings.LogPath);
        }

        var firstFile = backends.Select(b => b.DatabaseFilePath).FirstOrDefault(p => p is not null);
        var directory = firstFile is null ? Environment.CurrentDirectory : Path.GetDirectoryName(Path.GetFullPath(firstFile))!;
        return Path.Combine(directory, DefaultFileName);
    }

    /// <summary>Values of <c>Kafka.*password*</c> / <c>*secret*</c> keys never reach a message.</summary>
    public static string ScrubLogSecrets(string message, KhonsuSettings settings)
    {
        foreach (var (key, value) in settings.LogSettings)
        {
            if (value.Length > 0 && (key.Contains("password", StringComparison.OrdinalIgnoreCase) || key.Contains("secret", StringComparison.OrdinalIgnoreCase)))
            {
                message = message.Replace(value, "***", StringComparison.Ordinal);
            }
        }

        return message;
    }

    private static ICommitLogProvider LoadProvider(string assemblyName)
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(assemblyName));
        }
        catch (Exception error) when (error is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new KhonsuException($"Key 'Log': a kafka:// log needs the package {assemblyName}, which this application does not reference.", error);
        }

        var attribute = assembly.GetCustomAttribute<CommitLogProviderAttribute>()
            ?? throw new KhonsuException($"Key 'Log': assembly {assemblyName} declares no [assembly: CommitLogProvider(...)].");
        return (ICommitLogProvider)Activator.CreateInstance(attribute.ProviderType)!;
    }
}
