namespace Khonsu.Engine.Log.Embedded;

/// <summary>A record waiting for the writer's next group commit, and the caller waiting for it.</summary>
internal sealed class PendingAppend(LogRecord record)
{
    public LogRecord Record { get; } = record;

    public TaskCompletionSource<AppendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
