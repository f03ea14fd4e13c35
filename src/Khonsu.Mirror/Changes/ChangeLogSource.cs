using Khonsu.Data;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Data.Runtime;
using Khonsu.Engine.Log;

namespace Khonsu.Mirror.Changes;

/// <summary>
/// The commit log and the backends a Khonsu connection string names, opened to read, without a
/// runtime (which would install schema and recover): the embedded log's file read-only (the
/// application may hold it meanwhile), or a Kafka log, which the reader may follow from another
/// machine. One path for both: everything after this reads an <see cref="ICommitLog"/>.
/// </summary>
internal sealed class ChangeLogSource : IAsyncDisposable
{
    private ChangeLogSource(ICommitLog log, IReadOnlyList<KhonsuBackend> backends, string description)
    {
        Log = log;
        Backends = backends;
        Description = description;
    }

    public ICommitLog Log { get; }

    public IReadOnlyList<KhonsuBackend> Backends { get; }

    /// <summary>The log, for messages: its file or its kafka:// address.</summary>
    public string Description { get; }

    public static async Task<ChangeLogSource> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var settings = KhonsuConnectionStringParser.Parse(connectionString);
        var nodeId = settings.NodeId ?? $"khonsu-mirror@{Environment.MachineName}:{Environment.ProcessId}";
        var options = new KhonsuBackendOptions(settings.VersionColumn, nodeId, settings.LockTimeout);
        var backends = settings.Backends
            .Select(b => BackendRegistry.Resolve(b.Kind, b.Key).CreateBackend(b.Name, b.ConnectionString, options with { FollowedTables = settings.FollowedOn(b.Name) }))
            .ToList();
        try
        {
            if (LogLocation.IsKafka(settings.LogPath))
            {
                // A reader is not one of the application's processes: it publishes no position.
                var quiet = settings with { LogSettings = new Dictionary<string, string>(settings.LogSettings, StringComparer.OrdinalIgnoreCase) { ["PositionSeconds"] = "0" } };
                var kafka = await LogLocation.OpenAsync(quiet, backends, nodeId, null, cancellationToken).ConfigureAwait(false);
                return new ChangeLogSource(kafka, backends, settings.LogPath!.Trim());
            }

            var path = LogLocation.Resolve(settings, backends);
            return new ChangeLogSource(EmbeddedCommitLog.OpenReadOnly(path), backends, path);
        }
        catch
        {
            foreach (var backend in backends)
            {
                await backend.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Log.DisposeAsync().ConfigureAwait(false);
        foreach (var backend in Backends)
        {
            await backend.DisposeAsync().ConfigureAwait(false);
        }
    }
}
