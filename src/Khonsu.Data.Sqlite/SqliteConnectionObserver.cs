using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// Every SQLite connection Khonsu opens passes here right after its Open: the inner connections of
/// transactions, the applied-marker sweeper's and recovery's. Neither SQLite nor
/// Microsoft.Data.Sqlite has a process-wide hook, and the benchmarks count the statements Khonsu
/// runs on SQLite through this one (SQLite's trace callback, set per connection). Unset outside
/// them: one null check per open.
/// </summary>
internal static class SqliteConnectionObserver
{
    public static Action<SqliteConnection>? Opened { get; set; }

    public static void Notify(DbConnection connection) => Opened?.Invoke((SqliteConnection)connection);
}
