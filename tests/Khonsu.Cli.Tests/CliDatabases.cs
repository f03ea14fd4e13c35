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

    /// <summary>Commits one cross-backend transfer in this process, through Khonsu, and returns its id.</summary>
    public async Task<string> CommitTransferAsync(int amount)
    {
        var connectionString = ConnectionString();
        try
        {
            await using var connection = new KhonsuConnection(connectionString);
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await ExecuteAsync(connection, $"UPDATE accounts SET balance = balance - {amount} WHERE id = 1");
            await ExecuteAsync(connection, $"INSERT INTO orders (id, account_id, amount) VALUES ({1000 + amount}, 1, {amount})");
            await transaction.CommitAsync();
            return transaction.TransactionId;
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

    private static async Task ExecuteAsync(KhonsuConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
