using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.TestSupport;

/// <summary>
/// SQL straight to a database, around Khonsu, as a test checks what really landed (unpooled, so a
/// test never holds a file or a session open behind its back).
/// </summary>
public static class DirectSql
{
    public static async Task SqliteAsync(string path, string sql) => await SqliteScalarAsync(path, sql);

    public static async Task<object?> SqliteScalarAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = new SqliteCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public static async Task PostgresAsync(string connectionString, string sql) => await PostgresScalarAsync(connectionString, sql);

    public static async Task<object?> PostgresScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Rows of the embedded log's transaction_log for one transaction, as a DBA sees them: "participant:status:decision".</summary>
    public static async Task<IReadOnlyList<string>> TransactionLogAsync(string logPath, string transactionId)
    {
        await using var connection = new SqliteConnection($"Data Source={logPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = new SqliteCommand("SELECT participant || ':' || status || ':' || coalesce(decision, '') FROM transaction_log WHERE tx_id = $id ORDER BY participant", connection);
        command.Parameters.AddWithValue("$id", transactionId);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
