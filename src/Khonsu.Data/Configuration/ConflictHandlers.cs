using System.Collections.Concurrent;

namespace Khonsu.Data.Configuration;

/// <summary>
/// The write-conflict handler a data source was built with (see
/// <see cref="KhonsuDataSourceBuilder.OnWriteConflict"/>), per connection string, as
/// <see cref="Diagnostics.LoggerFactories"/> keeps logger factories: a delegate cannot travel in a
/// connection string, and every connection of the data source carries only that string.
/// </summary>
internal static class ConflictHandlers
{
    private static readonly ConcurrentDictionary<string, Func<KhonsuWriteConflict, KhonsuConflictPolicy>> Handlers = new(StringComparer.Ordinal);

    public static void Register(string connectionString, Func<KhonsuWriteConflict, KhonsuConflictPolicy> handler) => Handlers[connectionString] = handler;

    /// <summary>Forgets the handler when its data source is disposed (unless another registered since).</summary>
    public static void Unregister(string connectionString, Func<KhonsuWriteConflict, KhonsuConflictPolicy> handler)
        => Handlers.TryRemove(new KeyValuePair<string, Func<KhonsuWriteConflict, KhonsuConflictPolicy>>(connectionString, handler));

    public static Func<KhonsuWriteConflict, KhonsuConflictPolicy>? For(string connectionString) => Handlers.GetValueOrDefault(connectionString);
}
