using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Khonsu.Engine.Diagnostics;

namespace Khonsu.Mirror;

/// <summary>
/// The lag of every running applier as gauges on Khonsu's Meter ("Khonsu"): <c>khonsu.mirror.lag</c>
/// in log positions and <c>khonsu.mirror.lag.time</c> in seconds, each tagged <c>khonsu.mirror</c>
/// with the mirror's file.
/// </summary>
internal static class MirrorTelemetry
{
    private static readonly ConditionalWeakTable<object, Source> Appliers = [];

    internal static readonly ObservableGauge<long> Lag = KhonsuTelemetry.Meter.CreateObservableGauge(
        "khonsu.mirror.lag",
        () => Appliers.Select(a => new Measurement<long>(a.Value.Lag().Positions, Tag(a.Value))),
        "{position}",
        "Commit-log positions a mirror has not applied yet.");

    internal static readonly ObservableGauge<double> LagTime = KhonsuTelemetry.Meter.CreateObservableGauge(
        "khonsu.mirror.lag.time",
        () => Appliers.Select(a => new Measurement<double>(a.Value.Lag().Time.TotalSeconds, Tag(a.Value))),
        "s",
        "Age of the oldest commit a mirror has not applied yet.");

    public static void Track(object applier, string mirror, Func<MirrorLag> lag) => Appliers.AddOrUpdate(applier, new Source(mirror, lag));

    public static void Untrack(object applier) => Appliers.Remove(applier);

    private static KeyValuePair<string, object?> Tag(Source source) => new("khonsu.mirror", source.Mirror);

    private sealed record Source(string Mirror, Func<MirrorLag> Lag);
}
