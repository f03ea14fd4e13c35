using System.Globalization;

namespace Khonsu.Checker.Workload;

/// <summary>
/// The registers: keys s1..sN live in SQLite table <c>sregs</c> (backend "ledger"), p1..pN in
/// PostgreSQL table <c>pregs</c> (backend "shop"); each backend also has an audit table
/// (<c>saudit</c>, <c>paudit</c>) where every transaction records, in itself, the writes it made.
/// </summary>
internal sealed class Keyspace(int perBackend)
{
    public const string SqliteBackend = "ledger";
    public const string PostgresBackend = "shop";

    public int PerBackend { get; } = perBackend;

    public IReadOnlyList<string> SqliteKeys { get; } = [.. Enumerable.Range(1, perBackend).Select(i => "s" + i.ToString(CultureInfo.InvariantCulture))];

    public IReadOnlyList<string> PostgresKeys { get; } = [.. Enumerable.Range(1, perBackend).Select(i => "p" + i.ToString(CultureInfo.InvariantCulture))];

    public IEnumerable<string> All => SqliteKeys.Concat(PostgresKeys);

    public static bool IsSqlite(string key) => key[0] == 's';

    public static string Backend(string key) => IsSqlite(key) ? SqliteBackend : PostgresBackend;

    public static string Table(string key) => IsSqlite(key) ? "sregs" : "pregs";

    public static string AuditTable(string key) => IsSqlite(key) ? "saudit" : "paudit";

    public static long Id(string key) => long.Parse(key.AsSpan(1), CultureInfo.InvariantCulture);

    public static string Key(string backend, long id) => (backend == SqliteBackend ? "s" : "p") + id.ToString(CultureInfo.InvariantCulture);
}
