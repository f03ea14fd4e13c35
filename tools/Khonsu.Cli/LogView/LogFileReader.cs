using Khonsu.Engine.Log;
using Microsoft.Data.Sqlite;

namespace Khonsu.Cli.LogView;

/// <summary>
/// Reads records straight from the embedded log's khonsu_log table over a read-only connection:
/// the tool never takes the log's write lock, nor creates a log file, just to look.
/// </summary>
internal static class LogFileReader
{
    /// <summary>A row of khonsu_log: its position, and the record or why it could not be decoded.</summary>
    public readonly record struct Row(long Position, LoggedRecord? Record, Exception? Error);

    public static async Task<IReadOnlyList<Row>> ReadAsync(string connectionString, string sql, IReadOnlyList<(string Name, object Value)> parameters, CancellationToken cancellationToken)
    {
        var rows = new List<Row>();
        var connection = new SqliteConnection(connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = new SqliteCommand(sql, connection);
            await using (command.ConfigureAwait(false))
            {
                foreach (var (name, value) in parameters)
                {
                    command.Parameters.AddWithValue(name, value);
                }

                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        var position = reader.GetInt64(0);
                        try
                        {
                            var record = LogRecordCodec.Decode((byte[])reader.GetValue(1));
                            rows.Add(new Row(position, new LoggedRecord(new LogPosition(position), record), null));
                        }
                        catch (InvalidDataException error)
                        {
                            rows.Add(new Row(position, null, error));
                        }
                    }
                }
            }
        }

        return rows;
    }
}
