using System.Collections.Concurrent;
using System.Diagnostics;
using Khonsu.Engine;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// The in-process queue for one SQLite database's write lock, shared by every runtime of the
/// process that names the same file. Khonsu transactions take a permit before SQLite's write lock
/// and give it back when their local transaction ends, so a waiter awaits here instead of sleeping
/// in SQLite's busy handler on a thread-pool thread (which starved the pool under contention).
/// Writers that do not queue (recovery's redo is the one Khonsu writer that does; the transaction_log
/// materialiser, schema install and other processes do not) still meet the write lock itself.
/// </summary>
/// <remarks>
/// <para>
/// Waiters are served oldest first, by the age a transaction keeps across its retries, so a
/// transaction that keeps losing moves to the front of every queue it waits in.
/// </para>
/// <para>
/// Every wait in these queues is visible to the process, so deadlocks between them are found
/// exactly, when a wait begins: a waiter waits for the permit's holder and for every waiter served
/// before it, and a wait that closes a cycle (A holds the ledger's permit and waits for the shop's,
/// which B holds while it waits for the ledger's) fails its youngest member at once with a
/// transient serialization failure. The oldest member of a cycle is never its victim, so with ages
/// kept across retries the oldest transaction always gets through. One lock guards every queue of
/// the process: a wait-for cycle may run through several files.
/// </para>
/// </remarks>
internal sealed class SqliteWriteQueue
{
    // Never removed: one small entry per database file the process ever wrote through Khonsu.
    private static readonly ConcurrentDictionary<string, SqliteWriteQueue> Files = new(
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    // Guards every queue's holder and waiters, and the graph they make.
    private static readonly Lock Graph = new();

    // The wait each transaction is in now (a transaction runs one statement at a time: at most one).
    private static readonly Dictionary<TransactionId, Waiter> WaitsNow = [];

    // Which transactions hold a permit now, and how many.
    private static readonly Dictionary<TransactionId, int> PermitsHeld = [];

    // Waiters in the order they are served: oldest first, then first come.
    private readonly List<Waiter> _waiters = [];
    private Holder? _holder;

    private SqliteWriteQueue(string file) => File = file;

    /// <summary>The key: the database file's full path (or <c>memory:</c> and the name of an in-memory database).</summary>
    public string File { get; }

    /// <summary>How many are waiting for the permit now (for tests and diagnostics).</summary>
    public int Waiting
    {
        get
        {
            lock (Graph)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Whether someone holds the permit now.</summary>
    public bool IsHeld
    {
        get
        {
            lock (Graph)
            {
                return _holder is not null;
            }
        }
    }

    /// <summary>The queue of the database a connection string opens.</summary>
    public static SqliteWriteQueue For(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        return Files.GetOrAdd(KeyOf(builder.DataSource, builder.Mode), static file => new SqliteWriteQueue(file));
    }

    /// <summary>Whether the transaction holds the permit of some file now.</summary>
    public static bool HoldsAPermit(TransactionId holder)
    {
        lock (Graph)
        {
            return PermitsHeld.ContainsKey(holder);
        }
    }

    /// <summary>
    /// Waits for the permit at most <paramref name="wait"/>, for <paramref name="holder"/> of age
    /// <paramref name="age"/> (smaller is older); false when the wait ran out, or when
    /// <paramref name="yieldTo"/>, asked every <paramref name="checkEvery"/> about the age of each
    /// transaction this one waits for here (the holder, the waiters served before it), said it
    /// should give up for one of them.
    /// </summary>
    /// <param name="async">False for a synchronous caller: it waits blocked on its own thread, woken by the transaction that hands the permit on, with no thread-pool thread needed.</param>
    /// <exception cref="SqliteDeadlockException">The wait would close a cycle of waits and this transaction is its youngest member, or it was chosen as the victim of a cycle closed later.</exception>
    public async ValueTask<bool> EnterAsync(TimeSpan wait, TransactionId holder, long age, bool async, CancellationToken cancellationToken, Func<long, bool>? yieldTo = null, TimeSpan checkEvery = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (Graph)
        {
            if (_holder is null)
            {
                Grant(holder, age);
                return true;
            }

            waiter = new Waiter(this, holder, age);
            _waiters.Insert(_waiters.FindIndex(w => w.Age > age) is var at && at >= 0 ? at : _waiters.Count, waiter);
            WaitsNow[holder] = waiter;
            BreakCyclesThrough(waiter);
        }

        try
        {
            if (yieldTo is null || checkEvery <= TimeSpan.Zero || checkEvery >= wait)
            {
                await SyncOrAsyncWait.WaitAsync(waiter.Granted.Task, wait, async, cancellationToken).ConfigureAwait(false);
                return true;
            }

            var started = Stopwatch.GetTimestamp();
            while (true)
            {
                var left = wait - Stopwatch.GetElapsedTime(started);
                var slice = left < checkEvery ? left : checkEvery;
                if (slice <= TimeSpan.Zero)
                {
                    throw new TimeoutException();
                }

                try
                {
                    await SyncOrAsyncWait.WaitAsync(waiter.Granted.Task, slice, async, cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (TimeoutException) when (slice < left && !YieldsTo(waiter, yieldTo))
                {
                    // Still in the queue: keep its place and wait on.
                }
            }
        }
        catch (Exception error) when (error is TimeoutException or OperationCanceledException)
        {
            lock (Graph)
            {
                if (Withdraw(waiter))
                {
                    if (error is TimeoutException)
                    {
                        return false;
                    }

                    throw;
                }
            }

            // Granted (or failed as a victim) just as the wait ended: take the outcome it had.
            await SyncOrAsyncWait.WaitAsync(waiter.Granted.Task, Timeout.InfiniteTimeSpan, async, CancellationToken.None).ConfigureAwait(false);
            if (error is OperationCanceledException)
            {
                Exit(holder);
                throw;
            }

            return true;
        }
    }

    /// <summary>Gives the permit back; call once per successful <see cref="EnterAsync"/>, after SQLite's lock is released.</summary>
    public void Exit(TransactionId holder)
    {
        lock (Graph)
        {
            if (_holder?.Transaction != holder)
            {
                throw new InvalidOperationException($"Transaction {holder} gave back the write permit of '{File}', which it does not hold.");
            }

            _holder = null;
            var held = PermitsHeld[holder] - 1;
            if (held == 0)
            {
                PermitsHeld.Remove(holder);
            }
            else
            {
                PermitsHeld[holder] = held;
            }

            if (_waiters.Count > 0)
            {
                var next = _waiters[0];
                _waiters.RemoveAt(0);
                WaitsNow.Remove(next.Transaction);
                Grant(next.Transaction, next.Age);
                next.Granted.TrySetResult();
            }
        }
    }

    /// <summary>Whether the waiter should give up for one of the transactions it waits for here.</summary>
    private static bool YieldsTo(Waiter waiter, Func<long, bool> yieldTo)
    {
        lock (Graph)
        {
            foreach (var other in waiter.Queue.WaitedForBy(waiter))
            {
                if (yieldTo(other.Age))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private void Grant(TransactionId holder, long age)
    {
        _holder = new Holder(holder, age);
        PermitsHeld[holder] = PermitsHeld.GetValueOrDefault(holder) + 1;
    }

    /// <summary>Takes a waiter out of its queue; false when it was no longer there (granted, or failed as a victim).</summary>
    private static bool Withdraw(Waiter waiter)
    {
        if (!waiter.Queue._waiters.Remove(waiter))
        {
            return false;
        }

        WaitsNow.Remove(waiter.Transaction);
        return true;
    }

    /// <summary>
    /// The new wait may close cycles, all through it (every edge it adds starts or ends at it):
    /// while one exists, its youngest member gives up. A victim other than the new waiter is failed
    /// in its own wait; the new waiter, if chosen, fails here.
    /// </summary>
    private static void BreakCyclesThrough(Waiter waiter)
    {
        while (CycleThrough(waiter.Transaction) is { } cycle)
        {
            var victim = cycle.MaxBy(member => member.Age)!;
            var youngest = WaitsNow[victim.Transaction];
            Withdraw(youngest);
            var error = new SqliteDeadlockException(youngest.Queue.File, cycle.Count);
            if (youngest == waiter)
            {
                throw error;
            }

            youngest.Granted.TrySetException(error);
        }
    }

    /// <summary>A cycle of waits from <paramref name="start"/> back to it (its members), or null.</summary>
    private static List<Holder>? CycleThrough(TransactionId start)
    {
        // Depth-first over "waits for": a waiter waits for its queue's holder and the waiters served before it.
        var path = new List<Holder>();
        var visited = new HashSet<TransactionId>();
        return Search(start, WaitsNow[start].Age) ? path : null;

        bool Search(TransactionId transaction, long age)
        {
            path.Add(new Holder(transaction, age));
            if (WaitsNow.TryGetValue(transaction, out var waiter))
            {
                foreach (var next in waiter.Queue.WaitedForBy(waiter))
                {
                    if (next.Transaction == start || (visited.Add(next.Transaction) && Search(next.Transaction, next.Age)))
                    {
                        return true;
                    }
                }
            }

            path.RemoveAt(path.Count - 1);
            return false;
        }
    }

    /// <summary>Whom <paramref name="waiter"/> waits for here: the holder, then every waiter served before it.</summary>
    private IEnumerable<Holder> WaitedForBy(Waiter waiter)
    {
        if (_holder is { } holder)
        {
            yield return holder;
        }

        foreach (var ahead in _waiters)
        {
            if (ahead == waiter)
            {
                yield break;
            }

            yield return new Holder(ahead.Transaction, ahead.Age);
        }
    }

    /// <summary>
    /// The file as SQLite opens it, spelled one way however the connection string spells it
    /// (relative, <c>file:</c> URI, <c>|DataDirectory|</c>, through a symbolic link).
    /// </summary>
    internal static string KeyOf(string dataSource, SqliteOpenMode mode)
    {
        var path = dataSource;
        var memory = mode == SqliteOpenMode.Memory || path.Length == 0 || path.Equals(":memory:", StringComparison.OrdinalIgnoreCase);
        if (path.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            var query = path.IndexOf('?', StringComparison.Ordinal);
            memory |= query >= 0 && path[query..].Contains("mode=memory", StringComparison.OrdinalIgnoreCase);
            path = Uri.UnescapeDataString(query >= 0 ? path[5..query] : path[5..]);
        }

        if (memory)
        {
            return "memory:" + path;
        }

        const string DataDirectory = "|DataDirectory|";
        if (path.StartsWith(DataDirectory, StringComparison.OrdinalIgnoreCase))
        {
            var directory = AppDomain.CurrentDomain.GetData("DataDirectory") as string ?? AppContext.BaseDirectory;
            path = Path.Combine(directory, path[DataDirectory.Length..].TrimStart('/', '\\'));
        }

        path = Path.GetFullPath(path);
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            // A link that leads nowhere: SQLite fails to open it anyway.
            return path;
        }
    }

    /// <summary>A transaction holding a permit, or standing in a cycle.</summary>
    private readonly record struct Holder(TransactionId Transaction, long Age);

    /// <summary>One wait for a permit.</summary>
    private sealed class Waiter(SqliteWriteQueue queue, TransactionId transaction, long age)
    {
        public SqliteWriteQueue Queue { get; } = queue;

        public TransactionId Transaction { get; } = transaction;

        public long Age { get; } = age;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
