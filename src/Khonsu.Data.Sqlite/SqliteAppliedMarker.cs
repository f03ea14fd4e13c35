using System.Data.Common;
using System.Globalization;
using Khonsu.Data.Backends;
using Khonsu.Engine;

namespace Khonsu.Data.Sqlite;

/// <summary>
/// The row that commits together with a transaction's writes on SQLite, so that recovery can tell
/// a transaction whose local commit happened from one whose local transaction was lost.
/// </summary>
internal static class SqliteAppliedMarker
{
    public static ValueTask<int> WriteAsync(DbConnection connection, DbTransaction transaction, TransactionId transactionId, bool async, CancellationToken cancellationToken)
        => InnerCommands.ExecuteAsync(
            connection,
            transaction,
            $"INSERT INTO {SqliteSchemaInstaller.AppliedTable} (tx_id, applied_at) VALUES ($id, $at)",
            async,
            cancellationToken,
            ("$id", transactionId.ToString()),
            ("$at", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)));

    public static async ValueTask<bool> ExistsAsync(DbConnection connection, DbTransaction transaction, TransactionId transactionId, CancellationToken cancellationToken)
        => await InnerCommands.ScalarAsync(
            connection, transaction, $"SELECT 1 FROM {SqliteSchemaInstaller.AppliedTable} WHERE tx_id = $id", cancellationToken, ("$id", transactionId.ToString())).ConfigureAwait(false) is not null;
}
