using System.Diagnostics;

namespace Khonsu.Engine.Diagnostics;

/// <summary>Times the phases of one commit into khonsu.commit.duration, and marks each on the commit's activity.</summary>
internal sealed class PhaseClock(Activity? activity)
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private long _phaseStart = Stopwatch.GetTimestamp();

    public void End(string phase)
    {
        var now = Stopwatch.GetTimestamp();
        KhonsuTelemetry.CommitDuration.Record(Stopwatch.GetElapsedTime(_phaseStart, now).TotalSeconds, new KeyValuePair<string, object?>("khonsu.phase", phase));
        activity?.AddEvent(new ActivityEvent("khonsu." + phase));
        _phaseStart = now;
    }

    public void Total()
        => KhonsuTelemetry.CommitDuration.Record(Stopwatch.GetElapsedTime(_start).TotalSeconds, new KeyValuePair<string, object?>("khonsu.phase", "total"));
}
