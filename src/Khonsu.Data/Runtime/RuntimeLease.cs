using Microsoft.Extensions.Logging;

namespace Khonsu.Data.Runtime;

/// <summary>One data source's hold on a shared runtime (see <see cref="SharedRuntimes"/>); released once.</summary>
internal sealed class RuntimeLease(SharedRuntime shared, KhonsuRuntime runtime, ILoggerFactory? loggerFactory)
{
    private int _released;

    public KhonsuRuntime Runtime => runtime;

    /// <summary>Lets the runtime go; completes once it is closed when this was its last holder.</summary>
    public Task ReleaseAsync() => Interlocked.Exchange(ref _released, 1) == 0 ? shared.ReleaseAsync(loggerFactory) : Task.CompletedTask;
}
