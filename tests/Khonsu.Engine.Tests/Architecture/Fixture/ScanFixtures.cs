using Khonsu.Engine.Log;

namespace Khonsu.Engine.Tests.Architecture.Fixture;

// Known uses of the log, one of each kind, that the scan must find (see NamespaceDependencyTests).
internal static class Signature
{
    public static long Of(LogPosition position) => position.Value;
}

internal static class Body
{
    public static bool IsRecord(object value) => value is LogRecord;
}

internal static class Async
{
    public static async Task<bool> AppendAsync(ICommitLog log, LogRecord record)
    {
        var appended = await log.AppendAsync(record).ConfigureAwait(false);
        return appended.Decision is not null;
    }
}
