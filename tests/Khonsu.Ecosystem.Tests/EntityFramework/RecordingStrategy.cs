using Khonsu.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Khonsu.Ecosystem.Tests.EntityFramework;

/// <summary>Khonsu's execution strategy, noting every failure it is asked about.</summary>
internal sealed class RecordingStrategy(ExecutionStrategyDependencies dependencies, List<Exception> seen) : KhonsuExecutionStrategy(dependencies)
{
    protected override bool ShouldRetryOn(Exception exception)
    {
        lock (seen)
        {
            seen.Add(exception);
        }

        return base.ShouldRetryOn(exception);
    }
}
