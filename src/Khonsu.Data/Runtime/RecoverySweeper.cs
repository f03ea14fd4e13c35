using Khonsu.Engine.Recovery;

namespace Khonsu.Data.Runtime;

/// <summary>Runs recovery on a timer, so in-doubt transactions settle without a new open.</summary>
internal sealed class RecoverySweeper(Func<CancellationToken, ValueTask<RecoveryReport>> recover, TimeSpan interval) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start()
    {
        if (interval > TimeSpan.Zero)
        {
            _loop = RunAsync(_stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await recover(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // A backend or the log is unreachable: the next tick tries again.
            }
        }
    }
}
