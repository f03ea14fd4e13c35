using System.Data;
using System.Data.Common;
using Khonsu.Checker.History;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Checker.Workload;

/// <summary>
/// The deliberately broken mode (<see cref="WorkloadMode.RawTwoPhaseCommit"/>): each backend at its
/// own snapshot isolation, PREPARE TRANSACTION on PostgreSQL, then SQLite's COMMIT, then COMMIT
/// PREPARED. Atomic enough without faults, but nothing certifies reads across the two databases.
/// </summary>
internal sealed class RawTwoPhaseExecutor(string sqliteConnectionString, string postgresConnectionString) : ITransactionExecutor
{
    private SqliteConnection? _sqlite;
    private NpgsqlConnection? _postgres;

    public async Task<ExecutedTransaction> RunAsync(string transactionId, IReadOnlyList<MicroOp> planned)
    {
        var done = new List<MicroOp>(planned.Count);
        SqliteTransaction? sqliteTransaction = null;
        var postgresStarted = false;
        try
        {
            _sqlite ??= await OpenSqliteAsync();
            _postgres ??= await OpenPostgresAsync();
            foreach (var op in planned)
            {
                DbConnection connection;
                DbTransaction? transaction = null;
                if (Keyspace.IsSqlite(op.Key))
                {
                    sqliteTransaction ??= _sqlite.BeginTransaction(IsolationLevel.Serializable, deferred: true);
                    (connection, transaction) = (_sqlite, sqliteTransaction);
                }
                else
                {
                    if (!postgresStarted)
                    {
                        await ExecuteAsync(_postgres, "BEGIN ISOLATION LEVEL REPEATABLE READ");
                        postgresStarted = true;
                    }

                    connection = _postgres;
                }

                if (op.Kind == OpKind.Read)
                {
                    var (value, version) = await RegisterSql.ReadAsync(connection, transaction, op.Key);
                    done.Add(MicroOp.Read(op.Key, value, version));
                }
                else
                {
                    var version = await RegisterSql.WriteAsync(connection, transaction, op.Key, op.Value!.Value);
                    done.Add(MicroOp.Write(op.Key, op.Value!.Value, version));
                }
            }

            if (sqliteTransaction is not null)
            {
                await RegisterSql.AuditAsync(_sqlite, sqliteTransaction, transactionId, done, Keyspace.IsSqlite);
            }

            if (postgresStarted)
            {
                await RegisterSql.AuditAsync(_postgres, null, transactionId, done, key => !Keyspace.IsSqlite(key));
            }
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            await AbortAsync(sqliteTransaction, postgresStarted);
            return new ExecutedTransaction(Outcome.Fail, KhonsuExecutor.WithPlannedWrites(done, planned), KhonsuExecutor.Reason(e));
        }

        var gid = "chk_" + transactionId;
        try
        {
            if (postgresStarted)
            {
                await ExecuteAsync(_postgres, sqliteTransaction is null ? "COMMIT" : $"PREPARE TRANSACTION '{gid}'");
            }
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            await AbortAsync(sqliteTransaction, postgresStarted: false);
            await ResetPostgresAsync();
            return new ExecutedTransaction(Outcome.Fail, done, KhonsuExecutor.Reason(e));
        }

        try
        {
            if (sqliteTransaction is not null)
            {
                await sqliteTransaction.CommitAsync();
                await sqliteTransaction.DisposeAsync();
                if (postgresStarted)
                {
                    await ExecuteAsync(_postgres, $"COMMIT PREPARED '{gid}'");
                }
            }

            return new ExecutedTransaction(Outcome.Ok, done);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            // SQLite refused its commit after PostgreSQL prepared: roll PostgreSQL back (this mode has no log).
            try
            {
                await ExecuteAsync(_postgres, $"ROLLBACK PREPARED '{gid}'");
                await AbortAsync(sqliteTransaction, postgresStarted: false);
                return new ExecutedTransaction(Outcome.Fail, done, KhonsuExecutor.Reason(e));
            }
            catch (Exception again) when (again is DbException or InvalidOperationException)
            {
                await ResetPostgresAsync();
                return new ExecutedTransaction(Outcome.Unknown, done, KhonsuExecutor.Reason(e));
            }
        }
    }

    private async Task AbortAsync(SqliteTransaction? sqliteTransaction, bool postgresStarted)
    {
        try
        {
            if (sqliteTransaction is not null)
            {
                await sqliteTransaction.DisposeAsync(); // rolls back
            }
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            await ResetSqliteAsync();
        }

        try
        {
            if (postgresStarted && _postgres is not null)
            {
                await ExecuteAsync(_postgres, "ROLLBACK");
            }
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            await ResetPostgresAsync();
        }
    }

    private async Task<SqliteConnection> OpenSqliteAsync()
    {
        var connection = new SqliteConnection(sqliteConnectionString + ";Default Timeout=1");
        await connection.OpenAsync();
        return connection;
    }

    private async Task<NpgsqlConnection> OpenPostgresAsync()
    {
        var connection = new NpgsqlConnection(postgresConnectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, "SET lock_timeout = '1s'");
        return connection;
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task ResetSqliteAsync()
    {
        if (_sqlite is not null)
        {
            await _sqlite.DisposeAsync();
            _sqlite = null;
        }
    }

    private async Task ResetPostgresAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
            _postgres = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ResetSqliteAsync();
        await ResetPostgresAsync();
    }
}
