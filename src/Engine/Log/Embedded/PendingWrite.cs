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

    // Only for a caller that waits synchronously (see WaitSynchronously).
    private ManualResetEventSlim? _wake;

    /// <summary>The writer claims the item for the batch it is about to write.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

    /// <summary>Whether the writer claimed it (then wrote it, or failed it with its batch, before taking anything else).</summary>
    public bool WasTaken => Volatile.Read(ref _state) == Taken;

    /// <summary>Whether it waits in the queue still (neither claimed nor withdrawn).</summary>
    public bool IsQueued => Volatile.Read(ref _state) == Queued;

    /// <summary>The caller gives up on an item the writer has not claimed yet.</summary>
    public bool TryWithdraw() => Interlocked.CompareExchange(ref _state, Withdrawn, Queued) == Queued;

    /// <summary>
    /// Whether its caller waits synchronously, blocking its own thread: it is woken (<see cref="Wake"/>)
    /// when the item completes or fails, or when the writer's role is offered to it, so that it can
    /// write the queue itself instead of waiting for a drain that needs a thread-pool thread.
    /// </summary>
    public bool IsSynchronous => _wake is not null;

    /// <summary>Marks the caller as one that waits synchronously; before the item is queued.</summary>
    public void WaitSynchronously() => _wake = new ManualResetEventSlim();

    /// <summary>Wakes a synchronous caller to look again: its item completed, or the writer's role is free.</summary>
    public void Wake() => _wake?.Set();

    /// <summary>
    /// Blocks a synchronous caller until it is woken; the caller then checks what woke it (set
    /// before <see cref="Wake"/>, read after this returns, so no wake-up is lost).
    /// </summary>
    public void WaitForWake(CancellationToken cancellationToken)
    {
        _wake!.Wait(cancellationToken);
        _wake.Reset();
    }

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

    public sealed override void Complete()
    {
        _completion.TrySetResult(_result!);
        Wake();
    }

    public sealed override void Fail(Exception error)
    {
        _completion.TrySetException(error);
        Wake();
    }

    protected abstract TResult WriteWithin(LogAppender appender);
}
