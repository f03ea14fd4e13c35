using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Data.Tests.Serializability;

/// <summary>
/// The baseline: two-phase commit with no certification and no read validation, each database at
/// its default isolation (PostgreSQL READ COMMITTED, SQLite deferred in WAL mode): PREPARE
/// TRANSACTION on PostgreSQL, commit SQLite, COMMIT PREPARED.
/// </summary>
public sealed class PlainTwoPhaseSession : Session
{
    private readonly SqliteConnection _sqlite;
    private readonly SqliteTransaction _sqliteTransaction;
    private readonly NpgsqlConnection _postgres;
    private readonly string _gid = "plain:" + Guid.NewGuid();
    private bool _finished;

    private PlainTwoPhaseSession(string name, SqliteConnection sqlite, NpgsqlConnection postgres)
        : base(name)
    {
        _sqlite = sqlite;
        _sqliteTransaction = sqlite.BeginTransaction(deferred: true);
        _postgres = postgres;
    }

    public static async Task<PlainTwoPhaseSession> BeginAsync(TwoDatabases db, string name)
    {
        var sqlite = new SqliteConnection(db.SqliteConnectionString);
        await sqlite.OpenAsync();
        await using (var wal = new SqliteCommand("PRAGMA journal_mode = WAL", sqlite))
        {
            await wal.ExecuteNonQueryAsync(); // as Khonsu runs it: readers never block the writer
        }

        var postgres = new NpgsqlConnection(db.Postgres.ConnectionString);
        await postgres.OpenAsync();
        await using (var begin = new NpgsqlCommand("BEGIN", postgres))
        {
            await begin.ExecuteNonQueryAsync();
        }

        return new PlainTwoPhaseSession(name, sqlite, postgres);
    }

    public override async ValueTask DisposeAsync()
    {
        await RollbackAsync();
        await _sqliteTransaction.DisposeAsync();
        await _sqlite.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    protected override async Task<object?> ScalarAsync(Db db, string sql)
    {
        await using var command = CreateCommand(db, sql);
        return await command.ExecuteScalarAsync();
    }

    protected override DbCommand CreateCommand(Db db, string sql)
        => db == Db.Sqlite ? new SqliteCommand(sql, _sqlite, _sqliteTransaction) : new NpgsqlCommand(sql, _postgres);

    protected override Task ExecuteAsync(Db db, string sql) => ScalarAsync(db, sql);

    protected override async Task CommitCoreAsync()
    {
        await PostgresAsync($"PREPARE TRANSACTION '{_gid}'");
        await _sqliteTransaction.CommitAsync();
        await PostgresAsync($"COMMIT PREPARED '{_gid}'");
        _finished = true;
    }

    protected override async Task RollbackAsync()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        await _sqliteTransaction.RollbackAsync();
        await PostgresAsync("ROLLBACK");
    }

    private async Task PostgresAsync(string sql)
    {
        await using var command = new NpgsqlCommand(sql, _postgres);
        await command.ExecuteNonQueryAsync();
    }
}
