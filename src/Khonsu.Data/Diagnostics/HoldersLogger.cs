using Microsoft.Extensions.Logging;

namespace Khonsu.Data.Diagnostics;

/// <summary>
/// The logger of a runtime shared by several data sources (see <see cref="Runtime.SharedRuntime"/>):
/// what the runtime does on its own (its start, recovery sweeps, transaction_log, fencing) concerns
/// every data source that holds it, so each line goes to the logger factory of each, once per
/// factory however many data sources share one. A data source that lets the runtime go stops
/// receiving them, so a disposed logger factory is never written to. Transactions are not logged
/// here: each goes to the logger of the data source whose connection ran it.
/// </summary>
internal sealed class HoldersLogger : ILogger
{
    private readonly Dictionary<ILoggerFactory, (ILogger Logger, int Holders)> _byFactory = new(ReferenceEqualityComparer.Instance);
    private volatile ILogger[] _loggers = [];

    public void Add(ILoggerFactory factory)
    {
        lock (_byFactory)
        {
            _byFactory[factory] = _byFactory.TryGetValue(factory, out var known)
                ? known with { Holders = known.Holders + 1 }
                : (factory.CreateLogger(KhonsuLog.Category), 1);
            _loggers = [.. _byFactory.Values.Select(v => v.Logger)];
        }
    }

    public void Remove(ILoggerFactory factory)
    {
        lock (_byFactory)
        {
            if (!_byFactory.TryGetValue(factory, out var known))
            {
                return;
            }

            if (known.Holders > 1)
            {
                _byFactory[factory] = known with { Holders = known.Holders - 1 };
                return;
            }

            _byFactory.Remove(factory);
            _loggers = [.. _byFactory.Values.Select(v => v.Logger)];
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
        => null;

    public bool IsEnabled(LogLevel logLevel) => _loggers.Any(l => l.IsEnabled(logLevel));

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        foreach (var logger in _loggers)
        {
            if (logger.IsEnabled(logLevel))
            {
                logger.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
