using System.Globalization;

namespace Khonsu.Engine.Log.Embedded;

/// <summary>How values are spelled in the log file's text columns, which DBAs read with sqlite3.</summary>
internal static class LogText
{
    public const string Commit = "COMMIT";
    public const string Abort = "ABORT";
    public const string End = "END";

    /// <summary>ISO-8601 UTC with a fixed width, so text order is time order.</summary>
    public static string Timestamp(DateTimeOffset value)
        => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static string? Timestamp(DateTimeOffset? value) => value is { } known ? Timestamp(known) : null;

    public static string Kind(LogRecordKind kind) => kind switch
    {
        LogRecordKind.Commit => Commit,
        LogRecordKind.Abort => Abort,
        LogRecordKind.End => End,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a log record kind."),
    };

    public static LogRecordKind? Decision(string? text) => text switch
    {
        Commit => LogRecordKind.Commit,
        Abort => LogRecordKind.Abort,
        _ => null,
    };

    public static string Status(ParticipantStatus status) => status switch
    {
        ParticipantStatus.Prepared => "PREPARED",
        ParticipantStatus.Committed => "COMMITTED",
        ParticipantStatus.Aborted => "ABORTED",
        ParticipantStatus.InDoubt => "IN_DOUBT",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Not a participant status."),
    };
}
