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

    /// <summary>Validates the reads now, in one round trip (see <see cref="Validations"/>).</summary>
    public async ValueTask ValidateAsync(NpgsqlConnection connection, string participant, TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        var validations = Validations(participant, transactionId, onlyIfWrote: false);
        if (validations.Count == 0)
        {
            return;
        }

        var batch = new NpgsqlBatch(connection);
        try
        {
            foreach (var validation in validations)
            {
                batch.BatchCommands.Add(validation.Command);
            }

            await PostgresValidation.RunAsync(batch, validations, async, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await Execution.SyncOrAsync.DisposeAsync(batch, async).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The statements that validate the reads, for a batch of the caller's (500 rows per statement).
    /// <paramref name="onlyIfWrote"/>: they lock and check nothing unless the local transaction has
    /// written by the time they run (a one-time filter on pg_current_xact_id_if_assigned()): a
    /// transaction that wrote nothing commits at its snapshot, where its reads are current.
    /// </summary>
    public IReadOnlyList<PostgresValidation> Validations(string participant, TransactionId transactionId, bool onlyIfWrote)
    {
        var validations = new List<PostgresValidation>();
        foreach (var byTable in _rows.GroupBy(r => r.Key.Table))
        {
            foreach (var chunk in byTable.Chunk(KeysPerStatement))
            {
                var (sql, parameters) = LockRows(byTable.Key, chunk.Select(r => r.Value).ToList(), onlyIfWrote);
                var command = new NpgsqlBatchCommand(sql);
                foreach (var (name, value) in parameters)
                {
                    command.Parameters.AddWithValue(name, value ?? DBNull.Value);
                }

                var table = byTable.Key;
                var key = chunk.Length == 1 ? chunk[0].Key.Key : null;
                validations.Add(new PostgresValidation(command, error => new SerializationConflictException(
                    participant,
                    table.Name,
                    key,
                    $"a row of {Qualified(table.Schema, table.Name)} that transaction {transactionId} read on backend '{participant}' was changed by another transaction since its snapshot",
                    error)));
            }
        }

        return validations;
    }

    private static (string Sql, (string Name, object? Value)[] Parameters) LockRows(TableInfo table, IReadOnlyList<object[]> keys, bool onlyIfWrote)
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
        var condition = onlyIfWrote ? "pg_current_xact_id_if_assigned() IS NOT NULL AND " : "";
        return ($"SELECT 1 FROM {Qualified(table.Schema, table.Name)} WHERE {condition}({columns}) IN ({tuples}) FOR SHARE NOWAIT", [.. parameters]);
    }
}
