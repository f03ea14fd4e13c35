using System.Collections.Concurrent;
using Khonsu.Data.Configuration;

namespace Khonsu.Data.Runtime;

/// <summary>
/// One runtime per connection string, as ADO.NET providers keep one pool per connection string.
/// A runtime that fails to start is not kept, so the next open tries again.
/// </summary>
internal static class RuntimeCache
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<KhonsuRuntime>>> Runtimes = new(StringComparer.Ordinal);

    public static async Task<KhonsuRuntime> GetAsync(string connectionString, CancellationToken cancellationToken)
    {
        var lazy = Runtimes.GetOrAdd(connectionString, Create);
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            Runtimes.TryRemove(new KeyValuePair<string, Lazy<Task<KhonsuRuntime>>>(connectionString, lazy));
            throw;
        }
    }

    private static Lazy<Task<KhonsuRuntime>> Create(string connectionString)
        => new(() => Task.Run(() => KhonsuRuntime.CreateAsync(KhonsuConnectionStringParser.Parse(connectionString), Diagnostics.LoggerFactories.LogFor(connectionString), CancellationToken.None)));

    public static async ValueTask ClearAsync(string connectionString)
    {
        if (Runtimes.TryRemove(connectionString, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
        {
            await lazy.Value.Result.DisposeAsync().ConfigureAwait(false);
        }
    }

    public static async ValueTask ClearAsync()
    {
        foreach (var key in Runtimes.Keys)
        {
            if (Runtimes.TryRemove(key, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                await lazy.Value.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
