using System.Data.Common;
using System.Globalization;
using Khonsu.Data;
using Khonsu.Engine.Log;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>The materialised transaction_log as a DBA reads it with psql or sqlite3, and waits on it.</summary>
internal static class TransactionLogTable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Between the columns of a row as these helpers spell it (an operation may hold '|').</summary>
    public const char Separator = '\u001f';

    private const string Columns = "tx_id, participant, status, decision, node_id, operation, started_at, decided_at, finished_at, abort_reason, rows_written, log_position";

    /// <summary>Every row of khonsu.transaction_log (or one transaction's), each as its columns joined by <see cref="Separator"/>, in key order.</summary>
    public static async Task<List<string>> PostgresRowsAsync(string connectionString, string? transactionId = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return await RowsAsync(connection, $"SELECT {Columns} FROM khonsu.transaction_log{Where(transactionId)} ORDER BY tx_id, participant", transactionId);
    }

    /// <summary>Every row of a SQLite file's khonsu_transaction_log (or one transaction's).</summary>
    public static async Task<List<string>> SqliteRowsAsync(string path, string table = "khonsu_transaction_log", string? transactionId = null)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        return await RowsAsync(connection, $"SELECT {Columns} FROM {table}{Where(transactionId)} ORDER BY tx_id, participant", transactionId);
    }

    /// <summary>The last position of the log as the connection's runtime reads it now, -1 when empty.</summary>
    public static async Task<long> LogEndAsync(KhonsuConnection connection)
    {
        var last = -1L;
        await foreach (var logged in connection.Runtime.Log.ReadFromAsync(LogPosition.Start))
        {
            last = logged.Position.Value;
        }

        return last;
    }

    /// <summary>Waits until the connection's materialiser has applied the whole log as it is now.</summary>
    public static async Task WaitCaughtUpAsync(KhonsuConnection connection)
    {
        var end = await LogEndAsync(connection);
        var materializer = connection.Runtime.TransactionLog!;
        await Poll.UntilAsync(() => Task.FromResult(materializer.LastApplied >= end && materializer.Lag == 0), Patience, $"transaction_log to reach log position {end} (at {materializer.LastApplied}, lag {materializer.Lag})");
    }

    /// <summary>Waits until one transaction's rows, as "participant:status", are <paramref name="expected"/>.</summary>
    public static Task WaitForPostgresAsync(string connectionString, string transactionId, params string[] expected)
        => Poll.UntilAsync(
            async () => (await PostgresRowsAsync(connectionString, transactionId)).Select(StatusOf).SequenceEqual(expected),
            Patience,
            $"transaction {transactionId} to show {string.Join(", ", expected)} in khonsu.transaction_log");

    /// <summary>"participant:status" of a row.</summary>
    public static string StatusOf(string row)
    {
        var columns = row.Split(Separator);
        return $"{columns[1]}:{columns[2]}";
    }

    private static string Where(string? transactionId) => transactionId is null ? string.Empty : " WHERE tx_id = @tx";

    private static async Task<List<string>> RowsAsync(DbConnection connection, string sql, string? transactionId)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (transactionId is not null)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "tx";
            parameter.Value = transactionId;
            command.Parameters.Add(parameter);
        }

        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join(Separator, Enumerable.Range(0, reader.FieldCount).Select(i => Text(reader.GetValue(i)))));
        }

        return rows;
    }

    private static string Text(object value) => value switch
    {
        DBNull => "NULL",
        DateTime time => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        DateTimeOffset time => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
