using System.Data.Common;
using Dapper;
using Khonsu.Data;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>
/// One single-row write with no transaction, as Dapper's <c>conn.ExecuteAsync(...)</c> runs it:
/// an UPDATE of a random row by key, or an INSERT of a new row. The same statement on a Khonsu
/// connection and on the raw provider's.
/// </summary>
internal sealed class AutocommitClient(DbConnection connection, string table, bool insert) : ILoadClient
{
    /// <summary>Keys of inserted rows, above the seeded ones and unique across every client and side of a run.</summary>
    private static long _nextKey = 10_000_000;

    public static async Task<ILoadClient> KhonsuAsync(string connectionString, string table, bool insert, CancellationToken cancellationToken)
    {
        var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return new AutocommitClient(connection, table, insert);
    }

    public static async Task<ILoadClient> RawSqliteAsync(string path, string table, bool insert, CancellationToken cancellationToken)
        => new AutocommitClient(await BenchEnvironment.OpenRawSqliteAsync(path, cancellationToken), table, insert);

    public static async Task<ILoadClient> RawPostgresAsync(string connectionString, string table, bool insert, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return new AutocommitClient(connection, table, insert);
    }

    public Task RunOnceAsync(Random random, CancellationToken cancellationToken)
        => insert
            ? connection.ExecuteAsync(new CommandDefinition(
                $"INSERT INTO {table} (id, owner, balance) VALUES (@id, 'autocommit', 0)", new { id = Interlocked.Increment(ref _nextKey) }, cancellationToken: cancellationToken))
            : Sql.CreditAsync(connection, null, table, random.Next(1, BenchEnvironment.Accounts + 1), cancellationToken);

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
