using System.Data.Common;
using Khonsu.Data.Execution;

namespace Khonsu.Data.Backends;

/// <summary>Runs Khonsu's own statements on a backend's inner connection (for backend implementations).</summary>
public static class InnerCommands
{
    /// <summary>Runs a statement that returns no rows; returns the rows it changed, as the inner provider reports them.</summary>
    public static ValueTask<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
        => ExecuteAsync(connection, transaction, sql, async: true, cancellationToken, parameters);

    /// <inheritdoc cref="ExecuteAsync(DbConnection, DbTransaction?, string, CancellationToken, ValueTuple{string, object?}[])"/>
    /// <param name="connection">The inner connection.</param>
    /// <param name="transaction">The inner transaction the command must carry, if any.</param>
    /// <param name="sql">The statement.</param>
    /// <param name="async">False for a synchronous caller: the inner provider's synchronous methods run, and the returned task has completed.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <param name="parameters">Its parameters (null values as DBNull).</param>
    public static async ValueTask<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, bool async, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var command = Create(connection, transaction, sql, parameters);
        try
        {
            return await SyncOrAsync.ExecuteNonQueryAsync(command, async, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await SyncOrAsync.DisposeAsync(command, async).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a query; returns the first column of its first row, or null when there is no row or the value is NULL.</summary>
    public static ValueTask<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
        => ScalarAsync(connection, transaction, sql, async: true, cancellationToken, parameters);

    /// <inheritdoc cref="ScalarAsync(DbConnection, DbTransaction?, string, CancellationToken, ValueTuple{string, object?}[])"/>
    /// <param name="connection">The inner connection.</param>
    /// <param name="transaction">The inner transaction the command must carry, if any.</param>
    /// <param name="sql">The query.</param>
    /// <param name="async">False for a synchronous caller (see <see cref="ExecuteAsync(DbConnection, DbTransaction?, string, bool, CancellationToken, ValueTuple{string, object?}[])"/>).</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <param name="parameters">Its parameters (null values as DBNull).</param>
    public static async ValueTask<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, bool async, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var command = Create(connection, transaction, sql, parameters);
        try
        {
            var value = await SyncOrAsync.ExecuteScalarAsync(command, async, cancellationToken).ConfigureAwait(false);
            return value is DBNull ? null : value;
        }
        finally
        {
            await SyncOrAsync.DisposeAsync(command, async).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a query and maps each row.</summary>
    public static ValueTask<List<T>> QueryAsync<T>(
        DbConnection connection, DbTransaction? transaction, string sql, Func<DbDataReader, T> map, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
        => QueryAsync(connection, transaction, sql, map, async: true, cancellationToken, parameters);

    /// <inheritdoc cref="QueryAsync{T}(DbConnection, DbTransaction?, string, Func{DbDataReader, T}, CancellationToken, ValueTuple{string, object?}[])"/>
    /// <param name="connection">The inner connection.</param>
    /// <param name="transaction">The inner transaction the command must carry, if any.</param>
    /// <param name="sql">The query.</param>
    /// <param name="map">Maps one row.</param>
    /// <param name="async">False for a synchronous caller (see <see cref="ExecuteAsync(DbConnection, DbTransaction?, string, bool, CancellationToken, ValueTuple{string, object?}[])"/>).</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <param name="parameters">Its parameters (null values as DBNull).</param>
    public static async ValueTask<List<T>> QueryAsync<T>(
        DbConnection connection, DbTransaction? transaction, string sql, Func<DbDataReader, T> map, bool async, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var rows = new List<T>();
        var command = Create(connection, transaction, sql, parameters);
        try
        {
            var reader = await SyncOrAsync.ExecuteReaderAsync(command, async, cancellationToken).ConfigureAwait(false);
            try
            {
                while (await SyncOrAsync.ReadAsync(reader, async, cancellationToken).ConfigureAwait(false))
                {
                    rows.Add(map(reader));
                }
            }
            finally
            {
                await SyncOrAsync.DisposeAsync(reader, async).ConfigureAwait(false);
            }
        }
        finally
        {
            await SyncOrAsync.DisposeAsync(command, async).ConfigureAwait(false);
        }

        return rows;
    }

    /// <summary>Creates (without running it) a command on the inner connection, in <paramref name="transaction"/>, with the parameters given (null values as DBNull).</summary>
    public static DbCommand Create(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
