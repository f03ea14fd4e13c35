namespace Khonsu.Data.Runtime;

/// <summary>
/// The age of every live transaction of one runtime (the databases of one connection string, which
/// no other runtime shares: a database belongs to one log, and a log to one runtime). An age is
/// handed out when a transaction first begins and kept by its retries (see
/// <see cref="KhonsuConnection.RunInTransactionAsync{T}"/>), so a transaction that keeps losing
/// grows older until it is the oldest, and the oldest wins every wait Khonsu arbitrates: it is never
/// the victim of a deadlock between the SQLite write queues, and it waits longer than every other
/// transaction for locks no database can see across (see <see cref="Backends.ParticipantContext"/>).
/// That is what keeps transactions that wait for each other across databases from starving.
/// </summary>
internal sealed class TransactionAges
{
    // One count for the process: ages compare across runtimes too (the SQLite write queues are the process's).
    private static long _next;

    private readonly Lock _gate = new();

    // Ages of live transactions (and retry loops between attempts), with how many hold each.
    private readonly SortedDictionary<long, int> _live = [];

    // Since when each transaction runs a statement that may wait on a lock Khonsu cannot see (a
    // PostgreSQL row lock), by age: see WaitsOnHiddenLock.
    private readonly Dictionary<long, long> _hiddenWaits = [];
    private long _oldest = long.MaxValue;

    /// <summary>A new age, younger than every age handed out before.</summary>
    public static long Next() => Interlocked.Increment(ref _next);

    /// <summary>Counts <paramref name="age"/> as live until the returned lease is disposed.</summary>
    public Lease Hold(long age)
    {
        lock (_gate)
        {
            _live[age] = _live.GetValueOrDefault(age) + 1;
            _oldest = Math.Min(_oldest, age);
        }

        return new Lease(this, age);
    }

    /// <summary>Whether no live transaction of the runtime is older than <paramref name="age"/>.</summary>
    public bool IsOldest(long age) => age <= Volatile.Read(ref _oldest);

    /// <summary>The transaction of <paramref name="age"/> sends a statement that may wait on a lock Khonsu cannot see.</summary>
    public void HiddenWaitBegins(long age)
    {
        lock (_gate)
        {
            _hiddenWaits[age] = System.Diagnostics.Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Its statement came back (or failed): it waits on nothing hidden any more.</summary>
    public void HiddenWaitEnds(long age)
    {
        lock (_gate)
        {
            _hiddenWaits.Remove(age);
        }
    }

    /// <summary>
    /// Whether the transaction of <paramref name="age"/> has been waiting for at least
    /// <paramref name="atLeast"/> on a statement that may be blocked by a lock Khonsu cannot see.
    /// </summary>
    public bool WaitsOnHiddenLock(long age, TimeSpan atLeast)
    {
        lock (_gate)
        {
            return _hiddenWaits.TryGetValue(age, out var since) && System.Diagnostics.Stopwatch.GetElapsedTime(since) >= atLeast;
        }
    }

    private void Release(long age)
    {
        lock (_gate)
        {
            var holders = _live[age] - 1;
            if (holders > 0)
            {
                _live[age] = holders;
                return;
            }

            _live.Remove(age);
            _hiddenWaits.Remove(age);
            if (age == _oldest)
            {
                _oldest = _live.Count == 0 ? long.MaxValue : _live.First().Key;
            }
        }
    }

    /// <summary>Keeps an age live; disposing twice releases it once.</summary>
    internal sealed class Lease(TransactionAges ages, long age) : IDisposable
    {
        private int _released;

        public long Age => age;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                ages.Release(age);
            }
        }
    }
}
