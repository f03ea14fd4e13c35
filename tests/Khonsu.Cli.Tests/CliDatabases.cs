using Khonsu.Data;
using Khonsu.TestSupport;
using Microsoft.Data.Sqlite;

namespace Khonsu.Cli.Tests;

/// <summary>
/// What an operator points the tool at: a real SQLite file (backend "ledger", table accounts), a
/// real PostgreSQL database (backend "shop", table orders) and the embedded log beside them. The
/// tables exist before Khonsu's schema; checks go straight to each database, around Khonsu.
/// </summary>
public sealed class CliDatabases : LedgerAndShopDatabases
{
    private CliDatabases(TempDirectory directory, PostgresDatabase postgres)
        : base(directory, postgres)
    {
    }

    public static async Task<CliDatabases> CreateAsync()
    {
        var databases = new CliDatabases(new TempDirectory(), await PostgresDatabase.CreateAsync("khonsu_cli"));
        await databases.SeedAsync(withOrder: false);
        return databases;
    }

    /// <summary>The same databases with a Kafka log (<c>kafka://host:port/topic</c>) in place of the embedded one.</summary>
    public string KafkaConnectionString(string log, string extra = "")
        => $"Khonsu:Sqlite.ledger=\"{SqliteConnectionString}\";Postgres.shop=\"{Postgres.ConnectionString}\";Log={log};RecoveryInterval=0;Kafka.message.timeout.ms=2000{extra}";

    /// <summary>Commits one cross-backend transfer in this process, through Khonsu (by default with the embedded log), and returns its id.</summary>
    /// <param name="beforeStopping">Awaited with the transaction's id before the runtime stops (e.g. to wait for its background work).</param>
    public async Task<string> CommitTransferAsync(int amount, string? connectionString = null, Func<string, Task>? beforeStopping = null)
    {
        connectionString ??= ConnectionString();
        try
        {
            await using var connection = new KhonsuConnection(connectionString);
            await connection.OpenAsync();
            var transactionId = await TransferAsync(connection, amount, orderId: 1000 + amount);
            if (beforeStopping is not null)
            {
                await beforeStopping(transactionId);
            }

            return transactionId;
        }
        finally
        {
            // Let go of the log and the databases, as a stopped application would.
            await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
            SqliteConnection.ClearAllPools();
        }
    }

    /// <summary>
    /// Runs tests/Khonsu.CrashChild, which commits a transfer of <paramref name="amount"/> and stops at
    /// <paramref name="step"/>; kills it there with SIGKILL and returns the transaction's id.
    /// </summary>
    public Task<string> CrashChildAtAsync(string step, int occurrence, int amount, string extra = "")
        => CrashChild.KillAtAsync(ConnectionString(extra), step, occurrence, amount);

    /// <summary><see cref="CrashChildAtAsync"/> with a connection string of its own (e.g. a Kafka log's).</summary>
    public static Task<string> CrashChildAtAsync(string connectionString, string step, int occurrence, int amount)
        => CrashChild.KillAtAsync(connectionString, step, occurrence, amount);

    /// <summary>Commits one cross-backend transfer on an open connection (account 1 on SQLite pays for order <paramref name="orderId"/> on PostgreSQL) and returns its id.</summary>
    public static async Task<string> TransferAsync(KhonsuConnection connection, int amount, int orderId, CancellationToken cancellationToken = default)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, $"UPDATE accounts SET balance = balance - {amount} WHERE id = 1", cancellationToken);
        await ExecuteAsync(connection, $"INSERT INTO orders (id, account_id, amount) VALUES ({orderId}, 1, {amount})", cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return transaction.TransactionId;
    }

    private static async Task ExecuteAsync(KhonsuConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
