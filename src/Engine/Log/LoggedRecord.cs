namespace Khonsu.Engine.Log;

/// <summary>A record together with the position the log gave it.</summary>
internal sealed record LoggedRecord(LogPosition Position, LogRecord Record);
