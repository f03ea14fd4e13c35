using System.Diagnostics;

namespace Khonsu.Data.Diagnostics;

/// <summary>A statement being measured.</summary>
internal sealed class StatementScope(BackendIdentity identity, string? operation, Activity? activity, long started)
{
    private int _ended;

    public BackendIdentity Identity { get; } = identity;

    public string? Operation { get; } = operation;

    public Activity? Activity { get; } = activity;

    public long Started { get; } = started;

    /// <summary>Records the statement once: its latency, and its error if it failed.</summary>
    public void End(Exception? error = null)
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            StatementTelemetry.Record(this, error);
        }
    }
}
