using Microsoft.Extensions.Logging;

namespace Khonsu.Ecosystem.Tests.Logging;

internal sealed record CapturedLine(string Category, LogLevel Level, int EventId, string Message, string Values, string? Exception)
{
    public string Everything => $"{Category} {Message} {Values} {Exception}";
}
