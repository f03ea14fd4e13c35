using System.Collections.Concurrent;
using Khonsu.Engine;

namespace Khonsu.Data.Runtime;

/// <summary>
/// Which transactions the coordinators of this process are committing, per embedded log file.
/// Several runtimes of one process may share a log file (connection strings that differ only in
/// other keys); truncation in any of them must keep the records of a transaction any of them is
/// still committing (see <see cref="Engine.Log.EmbeddedCommitLog.TruncateEndedAsync"/>).
/// </summary>
internal static class InFlightCommits
{
    private static readonly ConcurrentDictionary<string, ConcurrentDictionary<Func<TransactionId, bool>, byte>> ByLog = new(
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    /// <summary>Adds a runtime's coordinator for <paramref name="logPath"/>; disposing the result removes it.</summary>
    public static IDisposable Register(string logPath, Func<TransactionId, bool> inFlight)
    {
        var coordinators = ByLog.GetOrAdd(Path.GetFullPath(logPath), _ => new());
        coordinators[inFlight] = 0;
        return new Registration(coordinators, inFlight);
    }

    /// <summary>Whether a coordinator of this process is committing the transaction through <paramref name="logPath"/>.</summary>
    public static Func<TransactionId, bool> For(string logPath)
    {
        var coordinators = ByLog.GetOrAdd(Path.GetFullPath(logPath), _ => new());
        return id => coordinators.Keys.Any(inFlight => inFlight(id));
    }

    private sealed class Registration(ConcurrentDictionary<Func<TransactionId, bool>, byte> coordinators, Func<TransactionId, bool> inFlight) : IDisposable
    {
        public void Dispose() => coordinators.TryRemove(inFlight, out _);
    }
}
