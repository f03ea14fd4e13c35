namespace Khonsu.Data.Tests;

/// <summary>
/// Starves the process's thread pool until disposed: its maximum is lowered to its minimum (at
/// least one thread per core), so it adds no thread, and as many work items as that maximum wait
/// on a gate. They are queued first, on the pool's global queue, so whatever threads the pool can
/// still run (those the test host does not already hold) take them before any work queued later
/// (an await's continuation, a Task.Run): that work does not run until the gate opens.
/// </summary>
internal sealed class StarvedThreadPool : IDisposable
{
    private readonly ManualResetEventSlim _gate = new();
    private readonly int _maxWorkers;
    private readonly int _maxIo;

    private StarvedThreadPool()
    {
        ThreadPool.GetMaxThreads(out _maxWorkers, out _maxIo);
        ThreadPool.GetMinThreads(out var minWorkers, out _);
        var cap = Math.Max(minWorkers, Environment.ProcessorCount);
        if (!ThreadPool.SetMaxThreads(cap, _maxIo))
        {
            throw new InvalidOperationException($"The thread pool's maximum could not be lowered to {cap}.");
        }

        for (var i = 0; i < cap; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_ => _gate.Wait(), null);
        }
    }

    public static StarvedThreadPool Hold() => new();

    public void Dispose()
    {
        _gate.Set();
        ThreadPool.SetMaxThreads(_maxWorkers, _maxIo);
    }
}
