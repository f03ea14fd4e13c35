using Khonsu.Data.Configuration;
using Khonsu.Data.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Khonsu.Data.Runtime;

/// <summary>
/// One runtime and the data sources that hold it, counted: it starts when the first one asks for
/// it and closes when the last one lets it go (see <see cref="SharedRuntimes"/> for why it is
/// shared). Nothing of a data source's own is kept here but its logger factory, for the runtime's
/// own events (see <see cref="HoldersLogger"/>).
/// </summary>
internal sealed class SharedRuntime
{
    private readonly HoldersLogger _logger = new();
    private readonly object _gate = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _holders;
    private bool _closing;

    /// <param name="settings">The parsed connection string the runtime runs with.</param>
    /// <param name="after">
    /// The close of the runtime this one replaces, if it is still closing: it holds the embedded
    /// log's lock until it is done, and a start before that would be refused the log.
    /// </param>
    public SharedRuntime(KhonsuSettings settings, Task? after)
    {
        // Not on the caller's thread: the caller holds the registry's lock, and the start reaches databases.
        Started = Task.Run(() => StartAsync(settings, after));
    }

    /// <summary>The runtime, once it has started; faulted if it could not start (the next open builds another).</summary>
    public Task<KhonsuRuntime> Started { get; }

    /// <summary>Completes once the last holder let the runtime go and it has closed (never faults).</summary>
    public Task Closed => _closed.Task;

    /// <summary>Counts one more holder, unless the runtime is closing or failed to start: then the caller builds a new one.</summary>
    public bool TryHold(ILoggerFactory? loggerFactory)
    {
        lock (_gate)
        {
            if (_closing || Started.IsFaulted || Started.IsCanceled)
            {
                return false;
            }

            _holders++;
            if (loggerFactory is not null)
            {
                _logger.Add(loggerFactory);
            }

            return true;
        }
    }

    /// <summary>
    /// A holder lets the runtime go; the last one closes it, and the task it gets completes once
    /// the runtime is closed (its log's lock released, its pools emptied), with the close's error if any.
    /// </summary>
    public Task ReleaseAsync(ILoggerFactory? loggerFactory)
    {
        lock (_gate)
        {
            if (loggerFactory is not null)
            {
                _logger.Remove(loggerFactory);
            }

            if (--_holders > 0)
            {
                return Task.CompletedTask;
            }

            _closing = true;
        }

        return CloseAsync();
    }

    private async Task<KhonsuRuntime> StartAsync(KhonsuSettings settings, Task? after)
    {
        if (after is not null)
        {
            await after.ConfigureAwait(false);
        }

        return await KhonsuRuntime.CreateAsync(settings, new KhonsuLog(_logger), CancellationToken.None).ConfigureAwait(false);
    }

    private async Task CloseAsync()
    {
        try
        {
            await ((Task)Started).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (Started.IsCompletedSuccessfully)
            {
                await Started.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _closed.TrySetResult();
        }
    }
}
