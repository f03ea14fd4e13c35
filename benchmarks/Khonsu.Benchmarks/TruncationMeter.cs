using System.Diagnostics.Metrics;
using System.Globalization;

namespace Khonsu.Benchmarks;

/// <summary>
/// Listens to khonsu.truncation.batch.duration while a soak runs: how many truncation batches ran,
/// how long in all and at most each held the log's writer or a backend, which is what truncation
/// costs the commit path (a commit queued behind a batch waits for it).
/// </summary>
internal sealed class TruncationMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long Batches, double Seconds, double Max)> _byKind = [];

    public TruncationMeter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Khonsu" && instrument.Name == "khonsu.truncation.batch.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            var kind = "?";
            foreach (var tag in tags)
            {
                if (tag.Key == "khonsu.truncation.kind")
                {
                    kind = tag.Value as string ?? kind;
                }
            }

            lock (_gate)
            {
                var (batches, total, max) = _byKind.GetValueOrDefault(kind);
                _byKind[kind] = (batches + 1, total + seconds, Math.Max(max, seconds));
            }
        });
        _listener.Start();
    }

    /// <summary>Whether any truncation batch ran (a Kafka log truncates nothing itself: its index forgets).</summary>
    public bool Ran
    {
        get
        {
            lock (_gate)
            {
                return _byKind.Count > 0;
            }
        }
    }

    /// <summary>One line per kind: batches, time held in all (and as a share of <paramref name="runSeconds"/>), the longest batch.</summary>
    public string Describe(double runSeconds)
    {
        lock (_gate)
        {
            return _byKind.Count == 0
                ? "ran no batch"
                : string.Join("; ", _byKind.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => string.Create(
                    CultureInfo.InvariantCulture,
                    $"{k.Key}: {k.Value.Batches:N0} batches, {k.Value.Seconds:0.00} s in all ({100 * k.Value.Seconds / runSeconds:0.00} % of the run), longest {1000 * k.Value.Max:0.0} ms")));
        }
    }

    public void Dispose() => _listener.Dispose();
}
