using DuckDB.NET.Data;

namespace Khonsu.Mirror.Tests;

/// <summary>What the mirror holds, read with SQL on its DuckDB connection.</summary>
internal static class MirrorQueries
{
    /// <summary>
    /// Balances by "backend/id" in the mirror, and its position, read in one DuckDB transaction (one
    /// snapshot); null while the mirror has applied nothing (no position stored, no tables yet).
    /// </summary>
    public static async Task<(SortedDictionary<string, long> Balances, long Position)?> TryBalancesAsync(DuckDBConnection connection)
    {
        var balances = new SortedDictionary<string, long>(StringComparer.Ordinal);
        using var transaction = connection.BeginTransaction();
        using var position = connection.CreateCommand();
        position.Transaction = transaction;
        position.CommandText = "SELECT max(through_position) FROM khonsu_mirror.applied";
        if (await position.ExecuteScalarAsync() is not long through)
        {
            return null;
        }

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

        transaction.Commit();
        return (balances, through);
    }

    /// <summary>As <see cref="TryBalancesAsync"/>, for a mirror that has applied something.</summary>
    public static async Task<(SortedDictionary<string, long> Balances, long Position)> BalancesAsync(DuckDBConnection connection)
        => await TryBalancesAsync(connection) ?? throw new InvalidOperationException("The mirror has applied nothing yet.");

    public static async Task<object?> ScalarAsync(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
