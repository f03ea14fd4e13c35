using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Khonsu.Data.Diagnostics;

/// <summary>
/// The logger factory a data source was built with, per connection string: the runtime shared by
/// every connection with that connection string logs through it. Without one, Khonsu logs nothing.
/// </summary>
internal static class LoggerFactories
{
    private static readonly ConcurrentDictionary<string, ILoggerFactory> Factories = new(StringComparer.Ordinal);

    public static void Register(string connectionString, ILoggerFactory factory) => Factories[connectionString] = factory;

    public static KhonsuLog LogFor(string connectionString)
        => Factories.TryGetValue(connectionString, out var factory) ? new KhonsuLog(factory.CreateLogger(KhonsuLog.Category)) : KhonsuLog.None;
}
