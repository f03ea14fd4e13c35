using DuckDB.NET.Data;

namespace Khonsu.Mirror.Tests;

/// <summary>What the mirror holds, read with SQL on its DuckDB connection.</summary>
internal static class MirrorQueries
{
    /// <summary>Balances by "backend/id" in the mirror, and its position, read in one DuckDB transaction (one snapshot).</summary>
    public static async Task<(SortedDictionary<string, long> Balances, long Position)> BalancesAsync(DuckDBConnection connection)
    {
        var balances = new SortedDictionary<string, long>(StringComparer.Ordinal);
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                SELECT 'ledger/' || id, balance FROM ledger.accounts
                UNION ALL SELECT 'shop/' || id, balance FROM shop.wallets
                """;
            using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                balances[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        using var position = connection.CreateCommand();
        position.Transaction = transaction;
        position.CommandText = "SELECT through_position FROM khonsu_mirror.applied";
        var through = (long)(await position.ExecuteScalarAsync())!;
        transaction.Commit();
        return (balances, through);
    }

    public static async Task<object?> ScalarAsync(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
