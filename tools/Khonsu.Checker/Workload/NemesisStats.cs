namespace Khonsu.Checker.Workload;

/// <summary>What the nemesis did during a run.</summary>
public sealed class NemesisStats
{
    private int _childrenKilled;
    private int _backendsTerminated;
    private int _sqliteLocksHeld;
    private int _postgresRestarts;
    private int _kafkaFaults;

    public int ChildrenKilled => _childrenKilled;

    public int BackendsTerminated => _backendsTerminated;

    public int SqliteLocksHeld => _sqliteLocksHeld;

    public int PostgresRestarts => _postgresRestarts;

    public int KafkaFaults => _kafkaFaults;

    internal void ChildKilled() => Interlocked.Increment(ref _childrenKilled);

    internal void Terminated(int count) => Interlocked.Add(ref _backendsTerminated, count);

    internal void SqliteLockHeld() => Interlocked.Increment(ref _sqliteLocksHeld);

    internal void PostgresRestarted() => Interlocked.Increment(ref _postgresRestarts);

    internal void KafkaFault() => Interlocked.Increment(ref _kafkaFaults);

    public override string ToString()
        => $"{ChildrenKilled} child processes SIGKILLed, {BackendsTerminated} PostgreSQL backends terminated, SQLite write lock held {SqliteLocksHeld} times, PostgreSQL restarted {PostgresRestarts} times, {KafkaFaults} Kafka faults";
}
