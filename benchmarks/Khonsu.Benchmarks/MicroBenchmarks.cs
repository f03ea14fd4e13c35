using System.Globalization;
using BenchmarkDotNet.Attributes;
using Dapper;
using Khonsu.Data;
using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Log;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>Connection strings for the in-process BenchmarkDotNet classes (set before they run).</summary>
internal static class MicroSetup
{
    public static string KhonsuSqlite { get; set; } = string.Empty;

    public static string RawSqlitePath { get; set; } = string.Empty;

    public static string KhonsuPostgres { get; set; } = string.Empty;

    public static string RawPostgres { get; set; } = string.Empty;

    public const string PointSelect = "SELECT * FROM {0} WHERE id = @id";
}

/// <summary>Point select by key through Dapper, outside a transaction: Khonsu over SQLite vs raw Microsoft.Data.Sqlite.</summary>
public class ReadSqliteBenchmarks
{
    private readonly string _sql = string.Format(CultureInfo.InvariantCulture, MicroSetup.PointSelect, BenchEnvironment.SqliteTable(1));
    private SqliteConnection? _raw;
    private KhonsuConnection? _khonsu;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _raw = await BenchEnvironment.OpenRawSqliteAsync(MicroSetup.RawSqlitePath, CancellationToken.None);
        _khonsu = new KhonsuConnection(MicroSetup.KhonsuSqlite);
        await _khonsu.OpenAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _raw!.DisposeAsync();
        await _khonsu!.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<Account> RawSqlite() => _raw!.QuerySingleAsync<Account>(_sql, new { id = NextId() });

    [Benchmark]
    public Task<Account> KhonsuSqlite() => _khonsu!.QuerySingleAsync<Account>(_sql, new { id = NextId() });

    private int NextId() => (_next = (_next % BenchEnvironment.Accounts) + 1);
}

/// <summary>Point select by key through Dapper, outside a transaction: Khonsu over PostgreSQL vs raw Npgsql.</summary>
public class ReadPostgresBenchmarks
{
    private readonly string _sql = string.Format(CultureInfo.InvariantCulture, MicroSetup.PointSelect, "pg_accounts");
    private NpgsqlConnection? _raw;
    private KhonsuConnection? _khonsu;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _raw = new NpgsqlConnection(MicroSetup.RawPostgres);
        await _raw.OpenAsync();
        _khonsu = new KhonsuConnection(MicroSetup.KhonsuPostgres);
        await _khonsu.OpenAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _raw!.DisposeAsync();
        await _khonsu!.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<Account> RawPostgres() => _raw!.QuerySingleAsync<Account>(_sql, new { id = NextId() });

    [Benchmark]
    public Task<Account> KhonsuPostgres() => _khonsu!.QuerySingleAsync<Account>(_sql, new { id = NextId() });

    private int NextId() => (_next = (_next % BenchEnvironment.Accounts) + 1);
}

/// <summary>
/// The SSI certifier alone: one certification of a transaction that read <see cref="ReadSetSize"/>
/// rows and wrote two, against <see cref="History"/> committed transactions concurrent with it
/// (each with the same shape), none of which conflicts, so every check runs to the end.
/// <para>
/// Called as the commit path calls it (<see cref="CommitCertifier"/>): the writes come as a set,
/// and once certified, the transactions no live snapshot can be concurrent with any more (here,
/// those before the oldest of the next <see cref="History"/> snapshots) are forgotten, which is
/// part of what is timed. Ids count up: a UUIDv7 is made once per transaction by the connection,
/// not by the certifier, and costs a system call for its random bits.
/// </para>
/// </summary>
public class CertifierBenchmarks
{
    private SsiCertifier _certifier = new();
    private ItemId[] _reads = [];
    private long _position;

    public static IEnumerable<int> ReadSetSizes => [10, 100, 1000];

    public static IEnumerable<int> HistorySizes => [100, 1000, 3000];

    [ParamsSource(nameof(ReadSetSizes))]
    public int ReadSetSize { get; set; }

    [ParamsSource(nameof(HistorySizes))]
    public int History { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _certifier = new SsiCertifier();
        _reads = [.. Enumerable.Range(0, ReadSetSize).Select(i => new ItemId("pg", "catalog", i.ToString(CultureInfo.InvariantCulture)))];
        _position = 0;
        for (var i = 0; i < History; i++)
        {
            _position++;
            _certifier.Certify(Request(new CertificationSequence(_position - 1)), new CertificationSequence(_position));
        }
    }

    [Benchmark]
    public bool Certify()
    {
        _position++;
        var committed = _certifier.Certify(Request(new CertificationSequence(_position - 1 - History)), new CertificationSequence(_position)).Commit;
        _certifier.Forget(new CertificationSequence(_position - History));
        return committed;
    }

    private CertificationRequest Request(CertificationSequence snapshot)
        => new(
            new TransactionId(new Guid((int)_position, (short)(_position >> 32), 7, 0, 0, 0, 0, 0, 0, 0, 0)),
            snapshot,
            _reads,
            new HashSet<ItemId> { new("s1", "ledger", _position.ToString(CultureInfo.InvariantCulture)), new("pg", "audit", _position.ToString(CultureInfo.InvariantCulture)) });
}
