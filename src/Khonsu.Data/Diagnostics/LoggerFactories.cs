using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Khonsu.Data.Diagnostics;

/// <summary>
/// The logger factory a data source was built with, per connection string: the runtime shared by
/// every connection with that connection string logs through it, from the runtime's start (a
/// runtime already running for that connection string keeps its logger). Without one, Khonsu logs nothing.
/// </summary>
internal static class LoggerFactories
{
    private static readonly ConcurrentDictionary<string, ILoggerFactory> Factories = new(StringComparer.Ordinal);

    public static void Register(string connectionString, ILoggerFactory factory) => Factories[connectionString] = factory;

    /// <summary>Forgets the factory when its data source is disposed (unless another registered since).</summary>
    public static void Unregister(string connectionString, ILoggerFactory factory)
        => Factories.TryRemove(new KeyValuePair<string, ILoggerFactory>(connectionString, factory));

    public static KhonsuLog LogFor(string connectionString)
        => Factories.TryGetValue(connectionString, out var factory) ? new KhonsuLog(factory.CreateLogger(KhonsuLog.Category)) : KhonsuLog.None;
}
