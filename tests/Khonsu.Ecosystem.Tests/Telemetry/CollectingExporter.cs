using OpenTelemetry;

namespace Khonsu.Ecosystem.Tests.Telemetry;

/// <summary>An OpenTelemetry exporter that keeps what it is given (the registry here has no in-memory exporter package).</summary>
internal sealed class CollectingExporter<T>(Action<T> collect) : BaseExporter<T>
    where T : class
{
    public override ExportResult Export(in Batch<T> batch)
    {
        foreach (var item in batch)
        {
            collect(item);
        }

        return ExportResult.Success;
    }
}
