using System.Data.Common;
using Khonsu.Data;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Data.Runtime;
using Khonsu.Engine.Log;
using Khonsu.Engine.Recovery;

namespace Khonsu.Cli.Infrastructure;

/// <summary>
/// The databases and the commit log one Khonsu connection string names, built without opening a
/// Khonsu runtime: opening one installs the schema (Schema=Auto) and runs recovery, and the tool
/// must be able to look without changing anything. The log is the embedded log's file or a Kafka
/// log (<c>Log=kafka://...</c>), opened through the same provider as the runtime's.
/// </summary>
internal sealed class KhonsuTarget
{
    private KhonsuTarget(KhonsuSettings settings, IReadOnlyList<KhonsuBackend> backends, string logPath, string nodeId)
    {
        Settings = settings;
        Backends = backends;
        LogPath = logPath;
        NodeId = nodeId;
    }

    public KhonsuSettings Settings { get; }

    public IReadOnlyList<KhonsuBackend> Backends { get; }

    /// <summary>
    /// The embedded commit log's file, as the provider resolves it (the Log key, else beside the
    /// first SQLite database), or a Kafka log's kafka:// address (which holds no secret: those are Kafka.* keys).
    /// </summary>
    public string LogPath { get; }

    /// <summary>Whether the log is a Kafka log rather than the embedded log's file.</summary>
    public bool IsKafkaLog => LogLocation.IsKafka(Settings.LogPath);

    /// <summary>The backend that holds transaction_log materialised from a Kafka log (the TransactionLog key), if any.</summary>
    public KhonsuBackend? TransactionLogHolder
        => Settings.TransactionLogBackend is { } name ? Backends.First(b => b.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) : null;

    /// <summary>The name records this tool appends carry: the Node key, else khonsu-cli@host:pid.</summary>
    public string NodeId { get; }

    /// <summary>Whether the log is there to read: a Kafka log is assumed to be (opening it tells).</summary>
    public bool LogExists => IsKafkaLog || File.Exists(LogPath);

    public static KhonsuTarget Create(string connectionString) => Build(Parse(connectionString, "invalid connection string"));

    /// <summary>
    /// The same databases (new backend objects, so nothing is shared) with another commit log:
    /// <paramref name="log"/> is a Log value (a file path or kafka://..., with this connection
    /// string's Kafka.* settings) or a whole Khonsu connection string, whose Log and Kafka.* keys count.
    /// </summary>
    public KhonsuTarget ForLog(string log, string what)
    {
        var other = log.TrimStart().StartsWith("Khonsu:", StringComparison.OrdinalIgnoreCase) ? Parse(log, what) : null;
        var logPath = other is null ? log.Trim() : other.LogPath;
        return Build(Settings with { LogPath = logPath, LogSettings = other?.LogSettings ?? Settings.LogSettings });
    }

    /// <summary>The same databases and log, with backend objects of their own (each governed by a log of its own choosing).</summary>
    public KhonsuTarget Copy() => Build(Settings);

    private static KhonsuSettings Parse(string connectionString, string what)
    {
        try
        {
            return KhonsuConnectionStringParser.Parse(connectionString);
        }
        catch (KhonsuException error)
        {
            throw new CliException(ExitCodes.Usage, $"{what}: {error.Message}");
        }
    }

    private static KhonsuTarget Build(KhonsuSettings settings)
    {
        var nodeId = settings.NodeId ?? $"khonsu-cli@{Environment.MachineName}:{Environment.ProcessId}";
        var options = new KhonsuBackendOptions(settings.VersionColumn, nodeId, settings.LockTimeout);
        var backends = new List<KhonsuBackend>();
        foreach (var backend in settings.Backends)
        {
            try
            {
                var provider = BackendRegistry.Resolve(backend.Kind, backend.Key);
                backends.Add(provider.CreateBackend(backend.Name, backend.ConnectionString, options with { FollowedTables = settings.FollowedOn(backend.Name) }));
            }
            catch (KhonsuException error)
            {
                throw new CliException(ExitCodes.Usage, "invalid connection string: " + Scrub(error.Message, settings));
            }
            catch (ArgumentException error)
            {
                throw new CliException(ExitCodes.Usage, $"invalid connection string: key '{backend.Key}': {Scrub(error.Message, settings)}");
            }
        }

        var logPath = LogLocation.IsKafka(settings.LogPath) ? settings.LogPath!.Trim() : LogLocation.Resolve(settings, backends);
        return new KhonsuTarget(settings, backends, logPath, nodeId);
    }

    /// <summary>Removes every backend's password (and similar) from a message.</summary>
    public string Scrub(string message) => Scrub(message, Settings);

    /// <summary>Where a backend is, e.g. "Host=db1;Port=5432;Database=shop", never with its credentials.</summary>
    public string Location(KhonsuBackend backend)
        => BackendLocation.Of(Settings.Backends.First(b => b.Name.Equals(backend.Name, StringComparison.OrdinalIgnoreCase)).ConnectionString);

    /// <summary>Opens an inner connection to a backend within the connect timeout, or says why not.</summary>
    public async Task<DbConnection> ConnectAsync(KhonsuBackend backend, TimeSpan timeout, bool mayCreateFile, CancellationToken cancellationToken)
    {
        if (!mayCreateFile && backend.DatabaseFilePath is { } file && !File.Exists(Path.GetFullPath(file)))
        {
            throw new CliException(ExitCodes.Unreachable, $"backend '{backend.Name}': database file '{Path.GetFullPath(file)}' does not exist");
        }

        var connection = backend.CreateConnection();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await connection.OpenAsync(deadline.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested && error is not CliException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            var why = error is OperationCanceledException || deadline.IsCancellationRequested
                ? $"no connection within {GlobalOptions.FormatSeconds(timeout)}"
                : OneLine(error);
            throw new CliException(ExitCodes.Unreachable, Scrub($"backend '{backend.Name}' is unreachable: {why}"), error);
        }
    }

    /// <summary>
    /// Opens the commit log to look at it: the embedded log's file read-only (no lock: the
    /// application may hold the log meanwhile; never created when missing), or a Kafka log through
    /// the runtime's provider (it reads the whole partition before it returns). The backends are
    /// then governed by it: their prepared transactions are listed as this log's.
    /// </summary>
    public async Task<ICommitLog> OpenLogForReadingAsync(CancellationToken cancellationToken)
    {
        var log = IsKafkaLog ? await OpenKafkaLogAsync(cancellationToken).ConfigureAwait(false) : OpenEmbeddedLog(forWriting: false);
        Govern(log);
        return log;
    }

    /// <summary>
    /// Opens the commit log to append to it (recovery, moving databases): the embedded log's file
    /// only when it exists (rather than start an empty log, in which every prepared transaction
    /// would look undecided), holding its lock, so never while the application holds it; a Kafka
    /// log as for reading (it is shared by design).
    /// </summary>
    /// <param name="command">The command, for the message when the application holds the log.</param>
    /// <param name="mayCreate">Create an embedded log that does not exist yet (a log the databases move to).</param>
    public async Task<ICommitLog> OpenLogForWritingAsync(string command, CancellationToken cancellationToken, bool mayCreate = false)
    {
        var log = IsKafkaLog ? await OpenKafkaLogAsync(cancellationToken).ConfigureAwait(false) : OpenEmbeddedLog(forWriting: true, command, mayCreate);
        Govern(log);
        return log;
    }

    /// <summary>Marks every backend as governed by <paramref name="log"/>, when its identity is known.</summary>
    private void Govern(ICommitLog log)
    {
        var identity = log is EmbeddedCommitLog embedded ? embedded.KnownIdentity : log.Identity;
        foreach (var backend in Backends)
        {
            backend.GoverningLog = identity;
        }
    }

    private async Task<ICommitLog> OpenKafkaLogAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Standard error, so that a skipped checkpoint never mixes into output a script parses.
            // The tool reads the log for a moment and is not one of the application's processes:
            // it publishes no position (khonsu log lag lists the processes that do).
            var quiet = Settings with { LogSettings = new Dictionary<string, string>(Settings.LogSettings, StringComparer.OrdinalIgnoreCase) { ["PositionSeconds"] = "0" } };
            return await LogLocation.OpenAsync(quiet, Backends, NodeId, warning => Console.Error.WriteLine("warning: " + warning), cancellationToken).ConfigureAwait(false);
        }
        catch (KhonsuException error)
        {
            throw new CliException(ExitCodes.Unreachable, Scrub(OneLine(error)), error);
        }
    }

    private EmbeddedCommitLog OpenEmbeddedLog(bool forWriting, string? command = null, bool mayCreate = false)
    {
        if (!LogExists && !mayCreate)
        {
            throw new CliException(
                ExitCodes.Unreachable,
                $"the commit log '{LogPath}' does not exist: check the Log key (without the log, every prepared transaction would look undecided and be aborted)");
        }

        try
        {
            return forWriting ? EmbeddedCommitLog.Open(LogPath, NodeId) : EmbeddedCommitLog.OpenReadOnly(LogPath);
        }
        catch (CommitLogInUseException error)
        {
            throw new CliException(
                ExitCodes.Unreachable,
                $"{command} refused: the commit log '{LogPath}' is held by a running process{(error.Holder is { } holder ? $" ({holder})" : "")}, and an embedded log " +
                $"has one writer. Its holder recovers the log itself (when it starts, and every RecoveryInterval): let it, or stop it and run {command} again. " +
                "Reading works while it runs: khonsu status, khonsu log tail, khonsu log show.",
                error);
        }
        catch (Exception error) when (error is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Unreachable, $"the commit log '{LogPath}' cannot be opened: {OneLine(error)}", error);
        }
    }

    /// <summary>A read-only connection string to the commit log's file, for the tool's own queries.</summary>
    public string LogReadConnectionString()
    {
        if (!LogExists)
        {
            throw new CliException(ExitCodes.Unreachable, $"the commit log '{LogPath}' does not exist: check the Log key");
        }

        return new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = LogPath,
            Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString();
    }

    /// <summary>How recovery reaches each backend, keyed by backend name.</summary>
    public IReadOnlyList<IRecoverableResource> RecoveryResources() => Backends.Select(b => b.CreateRecoveryResource()).ToList();

    public static string OneLine(Exception error)
    {
        var message = error.Message;
        var newline = message.IndexOfAny(['\r', '\n']);
        return newline < 0 ? message : message[..newline];
    }

    private static string Scrub(string message, KhonsuSettings settings)
        => LogLocation.ScrubLogSecrets(settings.Backends.Aggregate(message, (text, backend) => SecretScrubber.Scrub(text, backend.ConnectionString)), settings);
}
