using System.Data.Common;
using Khonsu.Cli.Infrastructure;
using Khonsu.Data.Backends;
using Khonsu.Data.Runtime;
using Microsoft.Data.Sqlite;

namespace Khonsu.Cli.LogView;

/// <summary>
/// Reads transaction_log wherever it lives: the embedded log's file, or, with a Kafka log, the
/// table materialised on the backend the TransactionLog key names (khonsu.transaction_log on
/// PostgreSQL, khonsu_transaction_log on SQLite).
/// </summary>
internal static class TransactionLogQuery
{
    /// <summary>Rows, or why there are none to read.</summary>
    public sealed record Result<T>(IReadOnlyList<T> Rows, string? Unavailable);

    /// <param name="sql">The query, given the table's name as SQL spells it; parameters are <c>@name</c>.</param>
    public static async Task<Result<T>> QueryAsync<T>(
        KhonsuTarget target, TimeSpan connectTimeout, Func<string, string> sql, Func<DbDataReader, T> map, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        if (!target.IsKafkaLog)
        {
            var file = new SqliteConnection(target.LogReadConnectionString());
            await using (file.ConfigureAwait(false))
            {
                await file.OpenAsync(cancellationToken).ConfigureAwait(false);
                return new Result<T>(await InnerCommands.QueryAsync(file, null, sql("transaction_log"), map, cancellationToken, parameters).ConfigureAwait(false), null);
            }
        }

        return await OnHolderAsync(target, connectTimeout, tables => sql(tables.Table), map, cancellationToken, parameters).ConfigureAwait(false);
    }

    /// <summary>
    /// How far a Kafka log's materialised transaction_log has got: the last log position applied
    /// (null before any), or why that cannot be told.
    /// </summary>
    public static async Task<(long? Applied, string? Unavailable)> AppliedAsync(KhonsuTarget target, TimeSpan connectTimeout, CancellationToken cancellationToken)
    {
        var result = await OnHolderAsync(
            target,
            connectTimeout,
            tables => $"SELECT last_position FROM {tables.ProgressTable} WHERE log = @log",
            reader => reader.GetInt64(0),
            cancellationToken,
            [("log", LogLocation.KafkaTopic(target.LogPath))]).ConfigureAwait(false);
        return (result.Rows is [var applied] ? applied : null, result.Unavailable);
    }

    private static async Task<Result<T>> OnHolderAsync<T>(
        KhonsuTarget target, TimeSpan connectTimeout, Func<TransactionLogTables, string> sql, Func<DbDataReader, T> map, CancellationToken cancellationToken, (string Name, object? Value)[] parameters)
    {
        if (target.TransactionLogHolder is not { TransactionLogTables: { } tables } holder)
        {
            return new Result<T>([], "a Kafka log has no transaction_log unless TransactionLog=<backend> names where to materialise it");
        }

        DbConnection connection;
        try
        {
            connection = await target.ConnectAsync(holder, connectTimeout, mayCreateFile: false, cancellationToken).ConfigureAwait(false);
        }
        catch (CliException error)
        {
            return new Result<T>([], error.Message); // status reports the backend unreachable by itself
        }

        await using (connection.ConfigureAwait(false))
        {
            try
            {
                return new Result<T>(await InnerCommands.QueryAsync(connection, null, sql(tables), map, cancellationToken, parameters).ConfigureAwait(false), null);
            }
            catch (DbException error)
            {
                // E.g. no Khonsu process with TransactionLog=... has run yet, so the table is not there.
                return new Result<T>([], target.Scrub($"{tables.Table} on backend '{holder.Name}' cannot be read: {KhonsuTarget.OneLine(error)}"));
            }
        }
    }

    /// <summary>A text or timestamp column as the tool prints it.</summary>
    public static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetValue(ordinal) switch
    {
        DateTime time => Infrastructure.Text.Timestamp(new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc))),
        DateTimeOffset time => Infrastructure.Text.Timestamp(time),
        var value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
    };
}
