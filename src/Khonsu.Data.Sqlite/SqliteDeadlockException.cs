namespace Khonsu.Data.Sqlite;

/// <summary>
/// A wait for a SQLite file's write permit closed a cycle of waits between transactions of the
/// process, and this transaction, the youngest of the cycle, gives up so that the others go on.
/// </summary>
internal sealed class SqliteDeadlockException(string file, int transactions)
    : Exception($"waiting for the write lock of '{file}' closed a cycle of {transactions} transactions waiting for each other's SQLite write locks, and this one is the youngest of them")
{
    public string File { get; } = file;
}
