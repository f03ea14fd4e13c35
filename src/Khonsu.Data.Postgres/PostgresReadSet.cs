using System.Data.Common;
using System.Text;
using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Npgsql;
using static Khonsu.Data.Postgres.PostgresSql;

namespace Khonsu.Data.Postgres;

/// <summary>
/// The rows a transaction read on PostgreSQL, and their validation: SELECT ... FOR SHARE in the
/// transaction's REPEATABLE READ snapshot fails with a serialization error if any of them was
/// updated or deleted since the snapshot, and the share locks keep them so until the end. A row
/// that a concurrent writer holds is a conflict at once (NOWAIT): that writer is about to change
/// what was read, and waiting for it deadlocks whenever it validates a row this transaction wrote
/// (PostgreSQL would break that only after deadlock_timeout, a second).
/// </summary>
internal sealed class PostgresReadSet
{
    private const int KeysPerStatement = 500;
    private readonly Dictionary<(TableInfo Table, string Key), object[]> _rows = [];

    public int Count => _rows.Count;

    public void Add(TableInfo table, object[] keyValues) => _rows.TryAdd((table, RowKey.Format(keyValues)), keyValues);

    public IEnumerable<ItemId> Items(string participant) => _rows.Keys.Select(row => ItemId.Of(participant, row.Table.Name, row.Key));

    public async ValueTask ValidateAsync(NpgsqlConnection connection, string participant, TransactionId transactionId, CancellationToken cancellationToken)
    {
        foreach (var byTable in _rows.GroupBy(r => r.Key.Table))
        {
            foreach (var chunk in byTable.Chunk(KeysPerStatement))
            {
                var (sql, parameters) = LockRows(byTable.Key, chunk.Select(r => r.Value).ToList());
                try
                {
                    await InnerCommands.ExecuteAsync(connection, null, sql, cancellationToken, parameters).ConfigureAwait(false);
                }
                catch (PostgresException error) when (error.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.LockNotAvailable)
                {
                    var table = Qualified(byTable.Key.Schema, byTable.Key.Name);
                    throw new SerializationConflictException(
                        participant,
                        byTable.Key.Name,
                        chunk.Length == 1 ? chunk[0].Key.Key : null,
                        $"a row of {table} that transaction {transactionId} read on backend '{participant}' was changed by another transaction since its snapshot",
                        error);
                }
            }
        }
    }

    private static (string Sql, (string Name, object? Value)[] Parameters) LockRows(TableInfo table, IReadOnlyList<object[]> keys)
    {
        var parameters = new List<(string Name, object? Value)>();
        var tuples = new StringBuilder();
        foreach (var key in keys)
        {
            tuples.Append(tuples.Length == 0 ? "(" : ", (");
            for (var i = 0; i < key.Length; i++)
            {
                var name = "k" + parameters.Count;
                parameters.Add((name, key[i]));
                tuples.Append(i == 0 ? "@" : ", @").Append(name);
            }

            tuples.Append(')');
        }

        var columns = string.Join(", ", table.KeyColumns.Select(Quote));
        return ($"SELECT 1 FROM {Qualified(table.Schema, table.Name)} WHERE ({columns}) IN ({tuples}) FOR SHARE NOWAIT", [.. parameters]);
    }
}
