namespace Khonsu.Ecosystem.Tests.Telemetry;

/// <summary>One exported metric point, copied (the SDK reuses its metric objects).</summary>
internal sealed record MetricPointCopy(string Name, string? Unit, IReadOnlyDictionary<string, object?> Tags, long Count, double Sum);
