using System.Collections.Concurrent;
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
internal sealed class SqliteWriteQueue
{
    // Never removed: one small entry per database file the process ever wrote through Khonsu.
    private static readonly ConcurrentDictionary<string, SqliteWriteQueue> Files = new(
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    // Which transactions hold a permit now, and how many: a transaction that waits for a second
    // file's permit while it holds one could close a cycle of queue waits no other wait bounds.
    private static readonly ConcurrentDictionary<TransactionId, int> PermitsHeld = new();

    private readonly SemaphoreSlim _permit = new(1, 1);
    private int _waiting;

    private SqliteWriteQueue(string file) => File = file;

    /// <summary>The key: the database file's full path (or <c>memory:</c> and the name of an in-memory database).</summary>
    public string File { get; }

    /// <summary>How many are waiting for the permit now (for tests and diagnostics).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Whether someone holds the permit now.</summary>
    public bool IsHeld => _permit.CurrentCount == 0;

    /// <summary>The queue of the database a connection string opens.</summary>
    public static SqliteWriteQueue For(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        return Files.GetOrAdd(KeyOf(builder.DataSource, builder.Mode), static file => new SqliteWriteQueue(file));
    }

    /// <summary>Whether the transaction holds the permit of some file now.</summary>
    public static bool HoldsAPermit(TransactionId holder) => PermitsHeld.ContainsKey(holder);

    /// <summary>Waits for the permit at most <paramref name="wait"/>, for <paramref name="holder"/>; false when the wait ran out.</summary>
    public async ValueTask<bool> EnterAsync(TimeSpan wait, TransactionId holder, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            if (!await _permit.WaitAsync(wait, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            PermitsHeld.AddOrUpdate(holder, 1, static (_, held) => held + 1);
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>Gives the permit back; call once per successful <see cref="EnterAsync"/>, after SQLite's lock is released.</summary>
    public void Exit(TransactionId holder)
    {
        if (PermitsHeld.AddOrUpdate(holder, 0, static (_, held) => held - 1) <= 0)
        {
            PermitsHeld.TryRemove(new KeyValuePair<TransactionId, int>(holder, 0));
        }

        _permit.Release();
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
}
