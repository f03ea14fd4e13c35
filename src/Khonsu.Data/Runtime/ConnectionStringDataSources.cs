using System.Collections.Concurrent;

namespace Khonsu.Data.Runtime;

/// <summary>
/// The data source of each bare connection string (<c>new KhonsuConnection(connectionString)</c>),
/// built on its first open and shared by every connection opened with that string, as Npgsql's
/// PoolManager keeps one data source per connection string. Data sources the application builds
/// are its own and never listed here. <see cref="KhonsuConnection.ClearPoolAsync"/> and
/// <see cref="KhonsuConnection.ClearAllPoolsAsync"/> dispose these, and the next open builds a new one.
/// </summary>
internal static class ConnectionStringDataSources
{
    private static readonly ConcurrentDictionary<string, KhonsuDataSource> DataSources = new(StringComparer.Ordinal);

    /// <summary>The connection string's data source; a bad connection string fails here, with the parser's message, and is not kept.</summary>
    public static KhonsuDataSource For(string connectionString)
        => DataSources.TryGetValue(connectionString, out var known) ? known : DataSources.GetOrAdd(connectionString, KhonsuDataSource.Create(connectionString));

    /// <summary>
    /// Disposes the connection string's data source: its runtime closes now, or when its last open
    /// connection closes, unless a data source of the application holds it too.
    /// </summary>
    public static async ValueTask ClearAsync(string connectionString)
    {
        if (DataSources.TryRemove(connectionString, out var dataSource))
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    public static async ValueTask ClearAllAsync()
    {
        foreach (var connectionString in DataSources.Keys)
        {
            await ClearAsync(connectionString).ConfigureAwait(false);
        }
    }
}
