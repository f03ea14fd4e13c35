using Khonsu.Cli.Infrastructure;
using Khonsu.Engine;
using Khonsu.Engine.Log;
using Microsoft.Data.Sqlite;

namespace Khonsu.Cli.LogView;

/// <summary>The embedded log's khonsu_log table, read with SQL over a read-only connection.</summary>
internal sealed class EmbeddedLogSource(KhonsuTarget target) : LogSource
{
    private const string LastRecords = "SELECT position, record FROM (SELECT position, record FROM khonsu_log ORDER BY position DESC LIMIT $n) ORDER BY position";
    private const string RecordsAfter = "SELECT position, record FROM khonsu_log WHERE position > $after ORDER BY position LIMIT $n";
    private const string RecordsOf = "SELECT position, record FROM khonsu_log WHERE tx_id = $tx ORDER BY position";

    private readonly string _connectionString = target.LogReadConnectionString();
    private ICommitLog? _log;

    public override Task<IReadOnlyList<LogFileReader.Row>> LastAsync(int count, CancellationToken cancellationToken)
        => LogFileReader.ReadAsync(_connectionString, LastRecords, [("$n", count)], cancellationToken);

    public override Task<IReadOnlyList<LogFileReader.Row>> AfterAsync(long position, CancellationToken cancellationToken)
        => LogFileReader.ReadAsync(_connectionString, RecordsAfter, [("$after", position), ("$n", PageSize)], cancellationToken);

    public override Task<IReadOnlyList<LogFileReader.Row>> OfAsync(TransactionId transactionId, CancellationToken cancellationToken)
        => LogFileReader.ReadAsync(_connectionString, RecordsOf, [("$tx", transactionId.ToString())], cancellationToken);

    public override async Task<long?> LastPositionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return await BackendProbe.ScalarAsync(connection, "SELECT max(position) FROM khonsu_log", cancellationToken).ConfigureAwait(false) is long last ? last : null;
        }
    }

    public override async Task<LogHousekeeping?> HousekeepingAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var (records, oldest) = await PairAsync(connection, "SELECT count(*), min(position) FROM khonsu_log", cancellationToken).ConfigureAwait(false);
            var (rows, _) = await PairAsync(connection, "SELECT count(*), NULL FROM transaction_log", cancellationToken).ConfigureAwait(false);
            var oldestDecided = await BackendProbe.ScalarAsync(connection, "SELECT min(decided_at) FROM transaction_log", cancellationToken).ConfigureAwait(false) as string;
            long? truncated;
            try
            {
                truncated = await BackendProbe.ScalarAsync(connection, "SELECT max(position) FROM khonsu_log_truncated", cancellationToken).ConfigureAwait(false) as long?;
            }
            catch (SqliteException)
            {
                truncated = null; // a log written by a build that did not truncate
            }

            return new LogHousekeeping(records ?? 0, oldest, truncated, rows ?? 0, oldestDecided);
        }
    }

    private static async Task<(long? First, long? Second)> PairAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        var command = new SqliteCommand(sql, connection);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                    ? (reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1))
                    : (null, null);
            }
        }
    }

    public override async Task<ICommitLog> CommitLogAsync(CancellationToken cancellationToken)
        => _log ??= await target.OpenLogForReadingAsync(cancellationToken).ConfigureAwait(false);

    public override async ValueTask DisposeAsync()
    {
        if (_log is not null)
        {
            await _log.DisposeAsync().ConfigureAwait(false);
        }
    }
}
