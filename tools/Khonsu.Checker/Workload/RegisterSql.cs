using System.Data.Common;
using System.Globalization;
using Khonsu.Checker.History;

namespace Khonsu.Checker.Workload;

/// <summary>The workload's statements, the same on both backends (parameters @id, @v, ...).</summary>
internal static class RegisterSql
{
    public static async Task<(long Value, long Version)> ReadAsync(DbConnection connection, DbTransaction? transaction, string key)
    {
        await using var command = Command(connection, transaction, $"SELECT val, version FROM {Keyspace.Table(key)} WHERE id = @id", ("@id", Keyspace.Id(key)));
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            throw new InvalidOperationException($"Register {key} is missing.");
        }

        return (Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
    }

    /// <summary>Writes the value, then reads back (inside the transaction) the version the database gave it.</summary>
    public static async Task<long> WriteAsync(DbConnection connection, DbTransaction? transaction, string key, long value)
    {
        await using (var update = Command(connection, transaction, $"UPDATE {Keyspace.Table(key)} SET val = @v WHERE id = @id", ("@v", value), ("@id", Keyspace.Id(key))))
        {
            if (await update.ExecuteNonQueryAsync() != 1)
            {
                throw new InvalidOperationException($"Register {key} is missing.");
            }
        }

        var (read, version) = await ReadAsync(connection, transaction, key);
        return read == value ? version : throw new InvalidOperationException($"{key} reads {read} right after writing {value}.");
    }

    /// <summary>One audit row per key the transaction wrote: its final value there and the version it installed.</summary>
    public static async Task AuditAsync(DbConnection connection, DbTransaction? transaction, string transactionId, IEnumerable<MicroOp> done, Func<string, bool>? onBackend = null)
    {
        var last = new Dictionary<string, MicroOp>(StringComparer.Ordinal);
        foreach (var op in done.Where(o => o.Kind == OpKind.Write && (onBackend is null || onBackend(o.Key))))
        {
            last[op.Key] = op;
        }

        foreach (var (key, op) in last)
        {
            await using var insert = Command(
                connection,
                transaction,
                $"INSERT INTO {Keyspace.AuditTable(key)} (id, tx, k, val, ver) VALUES (@id, @tx, @k, @v, @ver)",
                ("@id", transactionId + "/" + key),
                ("@tx", transactionId),
                ("@k", key),
                ("@v", op.Value!.Value),
                ("@ver", op.Version!.Value));
            await insert.ExecuteNonQueryAsync();
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
