namespace Khonsu.Checker.Workload;

/// <summary>What the nemesis did during a run.</summary>
public sealed class NemesisStats
{
    private int _childrenKilled;
    private int _backendsTerminated;
    private int _sqliteLocksHeld;
    private int _postgresRestarts;
    private int _kafkaFaults;
    private int _leaderChanges;
    private int _liveChildren;
    private int _mostChildrenAtOnce;

    public int ChildrenKilled => _childrenKilled;

    public int BackendsTerminated => _backendsTerminated;

    public int SqliteLocksHeld => _sqliteLocksHeld;

    public int PostgresRestarts => _postgresRestarts;

    public int KafkaFaults => _kafkaFaults;

    /// <summary>Kafka faults that moved the log partition's leader to another broker (part of <see cref="KafkaFaults"/>).</summary>
    public int LeaderChanges => _leaderChanges;

    internal void ChildKilled() => Interlocked.Increment(ref _childrenKilled);

    internal void Terminated(int count) => Interlocked.Add(ref _backendsTerminated, count);

    internal void SqliteLockHeld() => Interlocked.Increment(ref _sqliteLocksHeld);

    internal void PostgresRestarted() => Interlocked.Increment(ref _postgresRestarts);

    internal void KafkaFault() => Interlocked.Increment(ref _kafkaFaults);

    /// <summary>
    /// The most child processes that were running transactions at the same moment (each counted from
    /// its first transaction to its end); the runner's own clients run beside them throughout.
    /// </summary>
    public int MostChildrenAtOnce => Volatile.Read(ref _mostChildrenAtOnce);

    internal void ProcessLive()
    {
        var live = Interlocked.Increment(ref _liveChildren);
        int most;
        while (live > (most = Volatile.Read(ref _mostChildrenAtOnce)) && Interlocked.CompareExchange(ref _mostChildrenAtOnce, live, most) != most)
        {
        }
    }

    internal void ProcessEnded() => Interlocked.Decrement(ref _liveChildren);

    internal void LeaderChanged()
    {
        Interlocked.Increment(ref _leaderChanges);
        KafkaFault();
    }

    public override string ToString()
        => $"{ChildrenKilled} child processes SIGKILLed (at most {MostChildrenAtOnce} of them running transactions at once), {BackendsTerminated} PostgreSQL backends terminated, SQLite write lock held {SqliteLocksHeld} times, PostgreSQL restarted {PostgresRestarts} times, {KafkaFaults} Kafka faults ({LeaderChanges} leader changes)";
}
