namespace Khonsu.Engine;

/// <summary>
/// Waits on the one code path of synchronous and asynchronous callers (Npgsql's <c>bool async</c>
/// pattern): awaited for an asynchronous caller; for a synchronous one, blocked on with
/// <see cref="Task.Wait(TimeSpan, CancellationToken)"/> and slept on the caller's thread. A task's
/// blocking wait is woken by the thread that completes the task, and the timeout is kept by the
/// blocked thread itself, so a synchronous caller needs no thread-pool thread to go on, where
/// blocking on <c>task.WaitAsync(timeout)</c> or <c>Task.Delay</c> would need one (their
/// continuations and timers run on the pool).
/// </summary>
internal static class SyncOrAsyncWait
{
    /// <summary>Waits until <paramref name="task"/> completes, then rethrows its exception if it failed.</summary>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed first.</exception>
    public static async ValueTask WaitAsync(Task task, TimeSpan timeout, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            await task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            if (!task.Wait(timeout, cancellationToken))
            {
                throw new TimeoutException();
            }
        }
        catch (AggregateException)
        {
            // The task failed: its own exception, unwrapped, is thrown below.
        }

        task.GetAwaiter().GetResult();
    }

    /// <summary>Pauses for <paramref name="delay"/>.</summary>
    public static async ValueTask DelayAsync(TimeSpan delay, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            return;
        }

        cancellationToken.WaitHandle.WaitOne(delay);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
