namespace Khonsu.TestSupport;

/// <summary>Waits on a condition that something running in the background makes true, with a deadline: never a fixed sleep.</summary>
public static class Poll
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(25);

    /// <summary>Checks <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> if it does not within <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0.#} s for {what}.");
            }

            await Task.Delay(Step);
        }
    }
}
