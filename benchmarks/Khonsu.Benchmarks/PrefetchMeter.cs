using System.Diagnostics.Metrics;

namespace Khonsu.Benchmarks;

/// <summary>
/// Listens to Khonsu's prefetch counters (khonsu.prefetch.statements by outcome,
/// khonsu.prefetch.reads by whether a prefetch served them), as an operator's metrics pipeline
/// would, for the section's precision and recall.
/// </summary>
internal sealed class PrefetchMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _consumed;
    private long _dropped;
    private long _served;
    private long _reads;

    public PrefetchMeter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Khonsu" && instrument.Name is "khonsu.prefetch.statements" or "khonsu.prefetch.reads")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>The counts so far: prefetches consumed, prefetches judged, reads served, reads.</summary>
    public (long Consumed, long Judged, long Served, long Reads) Counts
        => (Interlocked.Read(ref _consumed), Interlocked.Read(ref _consumed) + Interlocked.Read(ref _dropped), Interlocked.Read(ref _served), Interlocked.Read(ref _reads));

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        foreach (var tag in tags)
        {
            switch (instrument.Name, tag.Key, tag.Value)
            {
                case ("khonsu.prefetch.statements", "khonsu.prefetch.outcome", "consumed"):
                    Interlocked.Add(ref _consumed, value);
                    break;
                case ("khonsu.prefetch.statements", "khonsu.prefetch.outcome", _):
                    Interlocked.Add(ref _dropped, value);
                    break;
                case ("khonsu.prefetch.reads", "khonsu.prefetch.served", bool served):
                    Interlocked.Add(ref _reads, value);
                    if (served)
                    {
                        Interlocked.Add(ref _served, value);
                    }

                    break;
            }
        }
    }
}
