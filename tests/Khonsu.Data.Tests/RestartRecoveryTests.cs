using Khonsu.Engine.Log;
using Khonsu.TestSupport;
using Npgsql;

namespace Khonsu.Data.Tests;

/// <summary>
/// A process that holds the embedded log knows that every undecided transaction of its log that
/// it is not committing itself is dead: at open it aborts what a killed earlier run left prepared
/// at once, without waiting for PrepareLease (60 s by default), so the rows it locked are free.
/// </summary>
public class RestartRecoveryTests
{
    [Fact]
    public async Task Rows_a_killed_process_held_prepared_are_writable_right_after_the_restart()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using (var install = await db.OpenAsync())
        {
            await KhonsuConnection.ClearPoolAsync(install);
        }

        // PostgreSQL is the second participant: killed once it prepared, before any decision, holding order 100's row lock.
        var transactionId = await CrashChild.KillAtAsync(db.ConnectionString(), "AfterParticipantPrepared", 2, amount: 25, "UPDATE orders SET amount = amount + 1 WHERE id = 100");
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));

        // The restart, with the default lease (60 s): the open's recovery pass settles it.
        await using var restarted = await db.OpenAsync();

        // No sleep, no polling: a lock still held would make this fail after 1 s (55P03).
        await using (var session = new NpgsqlConnection(db.Postgres.ConnectionString))
        {
            await session.OpenAsync();
            await using var update = new NpgsqlCommand("SET lock_timeout = '1s'; UPDATE orders SET amount = 7 WHERE id = 100", session);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 1025"));
        Assert.Equal(["shop:ABORTED:ABORT"], await db.TransactionLogAsync(transactionId)); // the participant it found prepared
        var decision = await restarted.Runtime.Log.GetDecisionAsync(Khonsu.Engine.TransactionId.Parse(transactionId));
        Assert.Equal(LogRecordKind.Abort, decision?.Record.Kind);
        Assert.Contains("by a process that no longer runs", decision!.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_abort_at_commit_leaves_nothing_for_recovery_to_finish()
    {
        // The coordinator rolled every participant back before it logged the abort: nothing is in
        // doubt, and the abort must not wait in recovery's work list for an end record.
        await using var db = await TwoDatabases.CreateAsync();
        await using var connection = await db.OpenAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await Scalar(connection, "SELECT * FROM orders WHERE id = 100"); // the row, with its key and version
            await Execute(connection, "UPDATE accounts SET balance = balance - 1 WHERE id = 1");
            await Execute(connection, "INSERT INTO orders (id, account_id, amount) VALUES (200, 1, 1)");
            await db.PostgresAsync("UPDATE orders SET amount = 9 WHERE id = 100"); // a writer outside Khonsu: read validation fails at prepare
            var conflict = await Assert.ThrowsAsync<KhonsuException>(() => transaction.CommitAsync());
            Assert.Equal("40001", conflict.SqlState);
            Assert.Equal(["ledger:ABORTED:ABORT", "shop:ABORTED:ABORT"], await db.TransactionLogAsync(transaction.TransactionId));
        }

        await foreach (var unfinished in connection.Runtime.Log.ReadUnfinishedAsync())
        {
            Assert.Fail($"recovery's work list holds {unfinished.Record.Kind} of {unfinished.Record.TransactionId}");
        }
    }

    private static async Task Scalar(KhonsuConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteScalarAsync();
    }

    private static async Task Execute(KhonsuConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
