using Microsoft.Extensions.Logging;

namespace Khonsu.TestSupport;

/// <summary>Keeps every log line (category, level, event, formatted message and structured values).</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly List<CapturedLine> _lines = [];

    public IReadOnlyList<CapturedLine> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>A logger factory over this provider alone, for code that takes an <see cref="ILoggerFactory"/>.</summary>
    public ILoggerFactory Factory() => new OnlyThis(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
            => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join("; ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            lock (provider._lines)
            {
                provider._lines.Add(new CapturedLine(category, logLevel, eventId.Id, formatter(state, exception), values, exception?.ToString()));
            }
        }
    }

    private sealed class OnlyThis(CapturingLoggerProvider provider) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => provider.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider other) => throw new NotSupportedException("This factory logs to its capturing provider only.");

        public void Dispose()
        {
        }
    }
}
