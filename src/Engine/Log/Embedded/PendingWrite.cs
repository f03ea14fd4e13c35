namespace Khonsu.Engine.Log.Embedded;

/// <summary>
/// Work queued for the writer's next group commit, and the caller waiting for it. The writer
/// takes an item just before its batch starts; a caller that stops waiting before then withdraws
/// it, so a withdrawn item is never written.
/// </summary>
internal abstract class PendingWrite
{
    private const int Queued = 0;
    private const int Taken = 1;
    private const int Withdrawn = 2;

    private int _state;

    /// <summary>The writer claims the item for the batch it is about to write.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

    /// <summary>Whether the writer claimed it (then wrote it, or failed it with its batch, before taking anything else).</summary>
    public bool WasTaken => Volatile.Read(ref _state) == Taken;

    /// <summary>The caller gives up on an item the writer has not claimed yet.</summary>
    public bool TryWithdraw() => Interlocked.CompareExchange(ref _state, Withdrawn, Queued) == Queued;

    /// <summary>
    /// Written in a transaction of its own rather than in a group commit: housekeeping (truncation)
    /// whose failure must not fail the appends it would have shared a batch with.
    /// </summary>
    public virtual bool Alone => false;

    /// <summary>For work written alone: how long its transaction held the writer (and the file's write lock), its sync included.</summary>
    public TimeSpan Held { get; set; }

    /// <summary>Does the item's work inside the batch's open transaction.</summary>
    public abstract void Write(LogAppender appender);

    /// <summary>The batch is durable: tell the caller.</summary>
    public abstract void Complete();

    /// <summary>The batch failed: none of it is in the log.</summary>
    public abstract void Fail(Exception error);
}

/// <summary>A <see cref="PendingWrite"/> whose caller waits for a result.</summary>
internal abstract class PendingWrite<TResult> : PendingWrite
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TResult? _result;

    public Task<TResult> Completion => _completion.Task;

    public sealed override void Write(LogAppender appender) => _result = WriteWithin(appender);

    public sealed override void Complete() => _completion.TrySetResult(_result!);

    public sealed override void Fail(Exception error) => _completion.TrySetException(error);

    protected abstract TResult WriteWithin(LogAppender appender);
}
