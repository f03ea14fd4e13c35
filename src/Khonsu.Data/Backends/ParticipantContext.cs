using Khonsu.Data.Runtime;

namespace Khonsu.Data.Backends;

/// <summary>
/// What a participant knows of the Khonsu transaction it takes part in, for its lock waits and its
/// snapshot: the transaction's age (see <see cref="Age"/>), whether another participant may hold
/// locks that Khonsu cannot see waits on, and the two moments the transaction must hear of (the
/// local snapshot about to be taken, the local commit done).
/// </summary>
public sealed class ParticipantContext
{
    /// <summary>How much longer than <c>LockTimeout</c> the oldest transaction waits where others wait <c>LockTimeout</c>.</summary>
    public const int OldestWaitFactor = 10;

    private readonly TransactionAges _ages;
    private readonly Func<bool> _othersMayHoldHiddenLocks;
    private Action? _snapshotStarting;
    private readonly Action _committed;
    private readonly Func<bool> _readsWholeTables;

    internal ParticipantContext(TransactionAges ages, long age, TimeSpan lockTimeout, Func<bool> othersMayHoldHiddenLocks, Action snapshotStarting, Action committed, Func<bool>? readsWholeTables = null)
    {
        _readsWholeTables = readsWholeTables ?? (() => true);
        _ages = ages;
        Age = age;
        LockTimeout = lockTimeout;
        _othersMayHoldHiddenLocks = othersMayHoldHiddenLocks;
        _snapshotStarting = snapshotStarting;
        _committed = committed;
    }

    /// <summary>
    /// When the transaction first began, kept by its retries: smaller is older. Waits Khonsu
    /// arbitrates (the process's SQLite write queues) let the older transaction win.
    /// </summary>
    public long Age { get; }

    /// <summary>No live transaction of its connection string is older (it may become so while it runs).</summary>
    public bool IsOldest => _ages.IsOldest(Age);

    /// <summary>The connection string's <c>LockTimeout</c>.</summary>
    public TimeSpan LockTimeout { get; }

    /// <summary>
    /// How long the transaction may wait, once it spans several backends, for a lock whose holder
    /// Khonsu cannot see (a PostgreSQL row lock, another process's SQLite writer): no database sees
    /// a wait that crosses databases, so one of the two sides of a deadlock must give up. Every
    /// transaction but the oldest waits <c>LockTimeout</c>; the oldest waits
    /// <see cref="OldestWaitFactor"/> times longer, so the younger side of a deadlock gives up
    /// first and the oldest goes on.
    /// </summary>
    public TimeSpan HiddenLockWait => IsOldest ? LockTimeout * OldestWaitFactor : LockTimeout;

    /// <summary>
    /// Whether another participant of the transaction may hold locks Khonsu cannot see waits on
    /// (see <see cref="BackendTransaction.MayHoldHiddenLocks"/>): then a wait here may close a cycle
    /// through them (see <see cref="YieldsTo"/>).
    /// </summary>
    public bool OthersMayHoldHiddenLocks => _othersMayHoldHiddenLocks();

    /// <summary>
    /// Call before sending a statement that may wait on a lock Khonsu cannot see (a PostgreSQL row
    /// lock) while the transaction spans several backends; it ends when the statement returns (see
    /// <see cref="YieldsTo"/>).
    /// </summary>
    public void HiddenWaitBegins() => _ages.HiddenWaitBegins(Age);

    /// <summary>How long a transaction must have waited on a hidden lock before younger ones that wait for it yield (see <see cref="YieldsTo"/>).</summary>
    public TimeSpan SuspectedDeadlockAfter => LockTimeout / 5;

    /// <summary>
    /// Whether this transaction, waiting for a transaction of age <paramref name="age"/> in a queue
    /// Khonsu arbitrates while another participant of its own may hold hidden locks, should give up:
    /// that one is older and has waited <see cref="SuspectedDeadlockAfter"/> or more on a hidden lock,
    /// which may be one this transaction holds (a deadlock no database can see). The younger side
    /// gives up, as in wait-die; when the waiter is the older one, the other's own bounded wait
    /// (<see cref="HiddenLockWait"/>) ends the deadlock.
    /// </summary>
    public bool YieldsTo(long age) => age < Age && _ages.WaitsOnHiddenLock(age, SuspectedDeadlockAfter);

    /// <summary>
    /// Call right before the database takes the local transaction's snapshot (its first read, or
    /// the write lock that starts it): what the transaction certainly sees on this backend is fixed
    /// then. Only the first call counts.
    /// </summary>
    public void SnapshotStarting() => Interlocked.Exchange(ref _snapshotStarting, null)?.Invoke();

    /// <summary>
    /// Whether the transaction read a table of this backend whole (a predicate read, or a read of
    /// something that is not a table), so that the rows it read one by one do not cover its reads
    /// here. True when unknown.
    /// </summary>
    internal bool ReadsWholeTables => _readsWholeTables();

    /// <summary>
    /// Call once the local transaction committed, before giving back anything another transaction
    /// waits for (a write lock): a snapshot taken after that must count the writes as seen.
    /// </summary>
    public void Committed() => _committed();
}
