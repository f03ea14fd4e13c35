using Microsoft.Extensions.Logging;

namespace Khonsu.TestSupport;

public sealed record CapturedLine(string Category, LogLevel Level, int EventId, string Message, string Values, string? Exception)
{
    public string Everything => $"{Category} {Message} {Values} {Exception}";
}
