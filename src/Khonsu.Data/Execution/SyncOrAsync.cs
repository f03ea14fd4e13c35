namespace Khonsu.Data.Execution;

/// <summary>
/// Helpers of the one code path for synchronous and asynchronous callers (Npgsql's
/// <c>bool async</c> pattern): a synchronous caller passes <c>async: false</c> down, each step then
/// calls the inner provider's synchronous method, and the task it returns has already completed,
/// so the caller's final <c>GetAwaiter().GetResult()</c> never waits on a thread-pool thread.
/// </summary>
internal static class SyncOrAsync
{
    public static ValueTask DisposeAsync<T>(T disposable, bool async)
        where T : IDisposable, IAsyncDisposable
    {
        if (async)
        {
            return disposable.DisposeAsync();
        }

        disposable.Dispose();
        return ValueTask.CompletedTask;
    }
}
