using Khonsu.Data.Sqlite;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Khonsu.Benchmarks;

/// <summary>
/// Counts the statements run on SQLite data files, Khonsu's and the raw provider's alike, with
/// SQLite's trace callback on each connection: Khonsu's through <see cref="SqliteConnectionObserver"/>
/// (every connection it opens), the raw clients' through <see cref="BenchEnvironment.OpenRawSqliteAsync"/>.
/// SQLite has no wire; a statement is its round trip, the unit of work a transaction pays for.
/// Statements of triggers are not counted apart: they are part of the statement that fired them.
/// A file whose name is in <see cref="Excluded"/> is not counted (the hand-written 2PC's decision
/// file, as Khonsu's embedded log, which does not go through Microsoft.Data.Sqlite, is not).
/// </summary>
internal static class SqliteStatementCounter
{
    private static long _statements;
    private static bool _counting;

    public static long Statements => Interlocked.Read(ref _statements);

    public static ISet<string> Excluded { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>When set, the text of each statement counted is added to it too (for the figures that list one transaction's statements).</summary>
    public static List<string>? Texts { get; set; }

    /// <summary>Counts from now on, on every connection opened from now on (connections opened before are not traced).</summary>
    public static void Start()
    {
        _counting = true;
        SqliteConnectionObserver.Opened = Attach;
    }

    public static void Stop()
    {
        SqliteConnectionObserver.Opened = null;
        _counting = false;
    }

    public static void Attach(SqliteConnection connection)
    {
        if (!_counting || Excluded.Contains(Path.GetFileName(connection.DataSource)))
        {
            return;
        }

        raw.sqlite3_trace(connection.Handle, (_, statement) =>
        {
            // A trigger's statements come as "-- TRIGGER name": the statement that fired it is counted.
            var text = statement.utf8_to_string();
            if (!text.StartsWith("--", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _statements);
                if (Texts is { } texts)
                {
                    lock (texts)
                    {
                        texts.Add(text);
                    }
                }
            }
        }, null);
    }
}
