using System.Diagnostics.Metrics;
using System.Globalization;

namespace Khonsu.Benchmarks;

/// <summary>
/// Listens to one of Khonsu's duration histograms while a run goes, grouped by one of its tags:
/// how many measurements, how long in all and at most. Truncation batches
/// (khonsu.truncation.batch.duration by kind: what truncation costs the commit path) and the
/// commit's phases (khonsu.commit.duration by phase: where a commit's time goes).
/// </summary>
internal sealed class DurationMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long Count, double Seconds, double Max)> _byTag = [];

    public DurationMeter(string instrumentName, string tagKey)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Khonsu" && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            var value = "?";
            foreach (var tag in tags)
            {
                if (tag.Key == tagKey)
                {
                    value = tag.Value as string ?? value;
                }
            }

            lock (_gate)
            {
                var (count, total, max) = _byTag.GetValueOrDefault(value);
                _byTag[value] = (count + 1, total + seconds, Math.Max(max, seconds));
            }
        });
        _listener.Start();
    }

    /// <summary>Truncation batches, by kind.</summary>
    public static DurationMeter Truncation() => new("khonsu.truncation.batch.duration", "khonsu.truncation.kind");

    /// <summary>The commit coordinator's phases (prepare, certify, log, finish, commit, total).</summary>
    public static DurationMeter CommitPhases() => new("khonsu.commit.duration", "khonsu.phase");

    /// <summary>Whether anything was measured (a Kafka log truncates nothing itself: its index forgets).</summary>
    public bool Ran
    {
        get
        {
            lock (_gate)
            {
                return _byTag.Count > 0;
            }
        }
    }

    /// <summary>One line per tag value: batches, time held in all (and as a share of <paramref name="runSeconds"/>), the longest.</summary>
    public string Describe(double runSeconds)
    {
        lock (_gate)
        {
            return _byTag.Count == 0
                ? "ran no batch"
                : string.Join("; ", _byTag.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => string.Create(
                    CultureInfo.InvariantCulture,
                    $"{k.Key}: {k.Value.Count:N0} batches, {k.Value.Seconds:0.00} s in all ({100 * k.Value.Seconds / runSeconds:0.00} % of the run), longest {1000 * k.Value.Max:0.0} ms")));
        }
    }

    /// <summary>The mean of each tag value in milliseconds, in the order given (values never measured are left out).</summary>
    public string DescribeMeans(params string[] order)
    {
        lock (_gate)
        {
            return string.Join(", ", order.Where(_byTag.ContainsKey).Select(value => string.Create(
                CultureInfo.InvariantCulture,
                $"{value} {1000 * _byTag[value].Seconds / _byTag[value].Count:0.00}")));
        }
    }

    public void Dispose() => _listener.Dispose();
}
