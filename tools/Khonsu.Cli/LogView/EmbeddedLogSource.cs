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
