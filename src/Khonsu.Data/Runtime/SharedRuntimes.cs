using Khonsu.Data.Configuration;
using Microsoft.Extensions.Logging;

namespace Khonsu.Data.Runtime;

/// <summary>
/// The runtimes of this process, one per connection string, each held by every data source of that
/// connection string (the one bare connection strings share included, see
/// <see cref="ConnectionStringDataSources"/>) and closed when the last of them lets it go.
/// </summary>
/// <remarks>
/// Why data sources share a runtime rather than each owning one, as each NpgsqlDataSource owns its
/// pool: a runtime is the certifier and the coordinator of an embedded log, and that log has one
/// runtime per process (its OS lock refuses a second, since two certifiers on one log would let a
/// write skew between them commit and each one's recovery would settle the other's transactions),
/// while each database belongs to one log. Two data sources of one connection string name the same
/// log, so they must use the same runtime; refusing the second instead would break an application
/// (or test host) that builds its data source twice. So the runtime holds only what its connection
/// string determines, and what a data source is given in code (its logger factory, its
/// write-conflict handler) stays with the data source and reaches the runtime's work through the
/// connection that does it. Two different connection strings on one embedded log are still refused,
/// by the log's lock: they would configure one certifier two ways. A Kafka log would let two
/// runtimes in (it serves several processes), but they would carry one <c>Node</c> name, consume
/// the log twice and materialise transaction_log twice, so they share too: one rule for every log.
/// </remarks>
internal static class SharedRuntimes
{
    private static readonly Dictionary<string, SharedRuntime> Runtimes = new(StringComparer.Ordinal);

    /// <summary>
    /// Holds the runtime of <paramref name="connectionString"/>, starting it if nobody holds it. A
    /// runtime that fails to start is not kept: the error goes to every holder waiting for it, and
    /// the next call starts another.
    /// </summary>
    public static async Task<RuntimeLease> AcquireAsync(string connectionString, KhonsuSettings settings, ILoggerFactory? loggerFactory)
    {
        SharedRuntime shared;
        lock (Runtimes)
        {
            if (!Runtimes.TryGetValue(connectionString, out var current) || !current.TryHold(loggerFactory))
            {
                shared = new SharedRuntime(settings, after: current?.Closed);
                shared.TryHold(loggerFactory);
                Runtimes[connectionString] = shared;
                _ = ForgetWhenClosedAsync(connectionString, shared);
            }
            else
            {
                shared = current;
            }
        }

        KhonsuRuntime runtime;
        try
        {
            runtime = await shared.Started.ConfigureAwait(false);
        }
        catch
        {
            await shared.ReleaseAsync(loggerFactory).ConfigureAwait(false);
            throw;
        }

        return new RuntimeLease(shared, runtime, loggerFactory);
    }

    private static async Task ForgetWhenClosedAsync(string connectionString, SharedRuntime shared)
    {
        await shared.Closed.ConfigureAwait(false);
        lock (Runtimes)
        {
            // A runtime built since, for a holder that came while this one closed, stays.
            if (Runtimes.TryGetValue(connectionString, out var current) && current == shared)
            {
                Runtimes.Remove(connectionString);
            }
        }
    }
}
