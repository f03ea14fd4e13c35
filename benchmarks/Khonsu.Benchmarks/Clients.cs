using System.Data;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using Khonsu.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Benchmarks;

/// <summary>A row as the benchmarks read it (Dapper ignores Khonsu's extra version column).</summary>
public sealed class Account
{
    public int Id { get; set; }

    public string Owner { get; set; } = string.Empty;

    public long Balance { get; set; }
}

/// <summary>Read-modify-write of one random row in one table through Khonsu: SELECT by key, UPDATE, COMMIT.</summary>
internal sealed class KhonsuRmwClient(KhonsuConnection connection, string table, int rows) : ILoadClient
{
    public static async Task<ILoadClient> ConnectAsync(string connectionString, string table, int rows, CancellationToken cancellationToken)
    {
        var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return new KhonsuRmwClient(connection, table, rows);
    }

    public async Task RunOnceAsync(Random random, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await Sql.ReadModifyWriteAsync(connection, transaction, table, random.Next(1, rows + 1), 1, cancellationToken);
        var committing = Stopwatch.GetTimestamp();
        await transaction.CommitAsync(cancellationToken);
        LastCommitMs = Stopwatch.GetElapsedTime(committing).TotalMilliseconds;
    }

    public double LastCommitMs { get; private set; } = double.NaN;

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}

/// <summary>The same read-modify-write on raw Microsoft.Data.Sqlite: BEGIN IMMEDIATE (no busy-snapshot retries), WAL, synchronous=FULL.</summary>
internal sealed class RawSqliteRmwClient(SqliteConnection connection, string table, int rows) : ILoadClient
{
    public static async Task<ILoadClient> ConnectAsync(string path, string table, int rows, CancellationToken cancellationToken)
        => new RawSqliteRmwClient(await BenchEnvironment.OpenRawSqliteAsync(path, cancellationToken), table, rows);

    public async Task RunOnceAsync(Random random, CancellationToken cancellationToken)
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await Sql.ReadModifyWriteAsync(connection, transaction, table, random.Next(1, rows + 1), 1, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}

/// <summary>The same read-modify-write on raw Npgsql at REPEATABLE READ, the level Khonsu runs PostgreSQL at.</summary>
internal sealed class RawPostgresRmwClient(NpgsqlConnection connection, string table, int rows, IsolationLevel isolation, int rowsPerTransaction) : ILoadClient
{
    public static async Task<ILoadClient> ConnectAsync(string connectionString, string table, int rows, IsolationLevel isolation, int rowsPerTransaction, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return new RawPostgresRmwClient(connection, table, rows, isolation, rowsPerTransaction);
    }

    public async Task RunOnceAsync(Random random, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(isolation, cancellationToken);
        await Sql.ReadModifyWriteAsync(connection, transaction, table, random.Next(1, rows + 1), rowsPerTransaction, cancellationToken, random, rows);
        var committing = Stopwatch.GetTimestamp();
        await transaction.CommitAsync(cancellationToken);
        LastCommitMs = Stopwatch.GetElapsedTime(committing).TotalMilliseconds;
    }

    public double LastCommitMs { get; private set; } = double.NaN;

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}

/// <summary>The contended workload of the abort-rate benchmark through Khonsu at a given isolation level.</summary>
internal sealed class KhonsuContendedClient(KhonsuConnection connection, IsolationLevel isolation, AbortCauses? causes) : ILoadClient
{
    /// <param name="causes">Where to count why attempts aborted; null: not counted.</param>
    public static async Task<ILoadClient> ConnectAsync(string connectionString, IsolationLevel isolation, CancellationToken cancellationToken, AbortCauses? causes = null)
    {
        var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return new KhonsuContendedClient(connection, isolation, causes);
    }

    public async Task RunOnceAsync(Random random, CancellationToken cancellationToken)
    {
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(isolation, cancellationToken);
            await Sql.ReadModifyWriteAsync(connection, transaction, "ab_accounts", random.Next(1, BenchEnvironment.HotRows + 1), 2, cancellationToken, random, BenchEnvironment.HotRows);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (Exception e) when (causes is not null && LoadDriver.IsTransient(e))
        {
            causes.Count(e);
            throw;
        }
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}

/// <summary>
/// A transfer across backends through Khonsu: read-modify-write of a row in PostgreSQL (debit),
/// then a credit in each SQLite file of the configuration, then commit.
/// </summary>
internal sealed class KhonsuTransferClient(KhonsuConnection connection, int sqliteFiles) : ILoadClient
{
    public static async Task<ILoadClient> ConnectAsync(string connectionString, int sqliteFiles, CancellationToken cancellationToken)
    {
        var connection = new KhonsuConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return new KhonsuTransferClient(connection, sqliteFiles);
    }

    public async Task RunOnceAsync(Random random, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await Sql.ReadModifyWriteAsync(connection, transaction, "pg_accounts", random.Next(1, BenchEnvironment.Accounts + 1), 1, cancellationToken, delta: -1);
        for (var i = 1; i <= sqliteFiles; i++)
        {
            await Sql.CreditAsync(connection, transaction, BenchEnvironment.SqliteTable(i), random.Next(1, BenchEnvironment.Accounts + 1), cancellationToken);
        }

        var committing = Stopwatch.GetTimestamp();
        await transaction.CommitAsync(cancellationToken);
        LastCommitMs = Stopwatch.GetElapsedTime(committing).TotalMilliseconds;
    }

    public double LastCommitMs { get; private set; } = double.NaN;

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}

/// <summary>
/// The hand-written baseline of a cross-backend transfer: the same statements, then two-phase
/// commit with no certification: PREPARE TRANSACTION on PostgreSQL, the SQLite transactions kept
/// open holding their write locks, one durable decision record (a row committed to a SQLite file
/// at synchronous=FULL, one fsync per transaction, no group commit), then COMMIT of each SQLite
/// transaction and COMMIT PREPARED. No recovery: a crash between the steps is not handled.
/// Clients of one process queue for each SQLite file on an in-process gate (in file order) before
/// BEGIN IMMEDIATE: SQLite's busy handler polls with sleeps of up to 100 ms and starves waiters
/// when the lock is held across a PostgreSQL round trip and an fsync, which would make the
/// baseline look far worse than a careful hand-written one.
/// </summary>
internal sealed class HandTwoPhaseClient(NpgsqlConnection postgres, SqliteConnection[] sqlites, SemaphoreSlim[] gates, SqliteConnection decisions) : ILoadClient
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> Gates = new();

    /// <param name="postgresConnectionString">The PostgreSQL database to debit; default: the environment's raw one.</param>
    public static async Task<ILoadClient> ConnectAsync(BenchEnvironment environment, int sqliteFiles, CancellationToken cancellationToken, string? postgresConnectionString = null)
    {
        var postgres = new NpgsqlConnection(postgresConnectionString ?? environment.RawPostgres);
        await postgres.OpenAsync(cancellationToken);
        var sqlites = new SqliteConnection[sqliteFiles];
        var gates = new SemaphoreSlim[sqliteFiles];
        for (var i = 0; i < sqliteFiles; i++)
        {
            sqlites[i] = await BenchEnvironment.OpenRawSqliteAsync(environment.RawSqlitePath(i + 1), cancellationToken);
            gates[i] = Gates.GetOrAdd(environment.RawSqlitePath(i + 1), _ => new SemaphoreSlim(1, 1));
        }

        return new HandTwoPhaseClient(postgres, sqlites, gates, await BenchEnvironment.OpenRawSqliteAsync(environment.DecisionsPath, cancellationToken));
    }

    public async Task RunOnceAsync(Random random, CancellationToken cancellationToken)
    {
        var gid = "bench_" + Guid.NewGuid().ToString("N");
        var locals = new List<SqliteTransaction>(sqlites.Length);
        var held = 0;
        try
        {
            await PrepareDecideAndCommitSqliteAsync(random, gid, locals, () => held++, cancellationToken);
        }
        finally
        {
            for (var i = 0; i < held; i++)
            {
                gates[i].Release();
            }
        }

        await postgres.ExecuteAsync(new CommandDefinition($"COMMIT PREPARED '{gid}'", cancellationToken: cancellationToken));
        LastCommitMs = Stopwatch.GetElapsedTime(_committing).TotalMilliseconds;
    }

    /// <summary>From PREPARE TRANSACTION to COMMIT PREPARED: prepare, decision record, finish.</summary>
    public double LastCommitMs { get; private set; } = double.NaN;

    private long _committing;

    private async Task PrepareDecideAndCommitSqliteAsync(Random random, string gid, List<SqliteTransaction> locals, Action gateTaken, CancellationToken cancellationToken)
    {
        var prepared = false;
        try
        {
            // PREPARE TRANSACTION ends the session's transaction, so it is begun with SQL, not an NpgsqlTransaction.
            await postgres.ExecuteAsync(new CommandDefinition("BEGIN ISOLATION LEVEL REPEATABLE READ", cancellationToken: cancellationToken));
            await Sql.ReadModifyWriteAsync(postgres, null, "pg_accounts", random.Next(1, BenchEnvironment.Accounts + 1), 1, cancellationToken, delta: -1);
            for (var i = 0; i < sqlites.Length; i++)
            {
                await gates[i].WaitAsync(cancellationToken);
                gateTaken();
                var local = sqlites[i].BeginTransaction(deferred: false); // BEGIN IMMEDIATE: the write lock now, in file order
                locals.Add(local);
                await Sql.CreditAsync(sqlites[i], local, BenchEnvironment.SqliteTable(i + 1), random.Next(1, BenchEnvironment.Accounts + 1), cancellationToken);
            }

            _committing = Stopwatch.GetTimestamp();
            await postgres.ExecuteAsync(new CommandDefinition($"PREPARE TRANSACTION '{gid}'", cancellationToken: cancellationToken));
            prepared = true;
            await decisions.ExecuteAsync(new CommandDefinition(
                "INSERT INTO decisions (gid, decided_at) VALUES (@gid, @at)",
                new { gid, at = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture) },
                cancellationToken: cancellationToken));
        }
        catch
        {
            foreach (var local in locals)
            {
                await local.DisposeAsync(); // rolls back
            }

            await postgres.ExecuteAsync(prepared ? $"ROLLBACK PREPARED '{gid}'" : "ROLLBACK");
            throw;
        }

        // Decided: finish every participant (COMMIT PREPARED once the SQLite gates are released).
        foreach (var local in locals)
        {
            await local.CommitAsync(cancellationToken);
            await local.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await postgres.DisposeAsync();
        foreach (var sqlite in sqlites)
        {
            await sqlite.DisposeAsync();
        }

        await decisions.DisposeAsync();
    }
}

/// <summary>The statements every workload shares, identical for Khonsu and the raw providers.</summary>
internal static class Sql
{
    /// <summary>Reads <paramref name="count"/> rows by key (the first is <paramref name="id"/>, the rest random) and writes the first.</summary>
    public static async Task ReadModifyWriteAsync(
        IDbConnection connection, IDbTransaction? transaction, string table, int id, int count, CancellationToken cancellationToken,
        Random? random = null, int rows = 0, long delta = 1)
    {
        var balance = await ReadAsync(connection, transaction, table, id, cancellationToken);
        for (var i = 1; i < count; i++)
        {
            var other = random!.Next(1, rows + 1);
            balance += other == id ? 0 : await ReadAsync(connection, transaction, table, other, cancellationToken) % 2;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE {table} SET balance = @balance WHERE id = @id", new { balance = balance + delta, id }, transaction, cancellationToken: cancellationToken));
    }

    public static async Task<long> ReadAsync(IDbConnection connection, IDbTransaction? transaction, string table, int id, CancellationToken cancellationToken)
        => (await connection.QuerySingleAsync<Account>(new CommandDefinition($"SELECT * FROM {table} WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken))).Balance;

    public static Task CreditAsync(IDbConnection connection, IDbTransaction? transaction, string table, int id, CancellationToken cancellationToken)
        => connection.ExecuteAsync(new CommandDefinition($"UPDATE {table} SET balance = balance + 1 WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
}
