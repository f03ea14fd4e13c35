using System.Diagnostics;

namespace Khonsu.TestSupport;

/// <summary>A Khonsu.CrashChild standing still at a step of its commit, alive until killed (disposing kills it too).</summary>
public sealed class StoppedChild : IAsyncDisposable
{
    private readonly Process _process;

    internal StoppedChild(Process process, string transactionId)
    {
        _process = process;
        TransactionId = transactionId;
    }

    /// <summary>The transaction the child was committing.</summary>
    public string TransactionId { get; }

    /// <summary>The child's process id, as the holder of a log notes itself.</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// SIGKILL, then waits until the process is gone: the kernel has closed its files (and dropped
    /// its locks) and its database sessions are broken by then.
    /// </summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
