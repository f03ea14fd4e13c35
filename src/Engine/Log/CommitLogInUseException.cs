namespace Khonsu.Engine.Log;

/// <summary>
/// The embedded commit log is held by another live process, or by another runtime (connection
/// string) of this process: one log has one writer and one certifier, so a second one is refused
/// at open. Several processes share a Kafka log instead. The message names the file and, when it
/// is known, the holder; nothing is left behind by a holder that died (the lock dies with it).
/// </summary>
internal sealed class CommitLogInUseException : IOException
{
    public CommitLogInUseException(string logPath, string? holder, bool inThisProcess, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        LogPath = logPath;
        Holder = holder;
        InThisProcess = inThisProcess;
    }

    /// <summary>The log file's full path.</summary>
    public string LogPath { get; }

    /// <summary>The holder as it noted itself in the log file (node, process, host, since when), when known.</summary>
    public string? Holder { get; }

    /// <summary>The holder is another runtime (connection string) of this process.</summary>
    public bool InThisProcess { get; }
}
