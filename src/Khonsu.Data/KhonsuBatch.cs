using System.Data;
using System.Data.Common;

namespace Khonsu.Data;

/// <summary>
/// Statements run together, in order, in the connection's transaction (or each on its own outside
/// one). Each statement is routed by its own tables, so one batch may touch several backends;
/// statements run one after another through Khonsu's command path (read tracking, capture,
/// conflicts), not as one round trip to the database.
/// </summary>
public sealed class KhonsuBatch : DbBatch
{
    private KhonsuCommand? _running;

    public KhonsuBatch()
    {
    }

    public KhonsuBatch(KhonsuConnection connection) => Connection = connection;

    public new KhonsuBatchCommandCollection BatchCommands { get; } = new();

    public new KhonsuConnection? Connection { get; set; }

    public new KhonsuTransaction? Transaction { get; set; }

    public override int Timeout { get; set; } = 30;

    protected override DbBatchCommandCollection DbBatchCommands => BatchCommands;

    protected override DbConnection? DbConnection
    {
        get => Connection;
        set => Connection = value as KhonsuConnection ?? (value is null ? null : throw new ArgumentException($"A KhonsuBatch runs on a KhonsuConnection, not {value.GetType().Name}."));
    }

    protected override DbTransaction? DbTransaction
    {
        get => Transaction;
        set => Transaction = value as KhonsuTransaction ?? (value is null ? null : throw new ArgumentException($"A KhonsuBatch runs in a KhonsuTransaction, not {value.GetType().Name}."));
    }

    public override int ExecuteNonQuery() => ExecuteNonQueryAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs every statement; returns the rows changed by all of them (statements that report none count 0).</summary>
    public override async Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken = default)
    {
        var total = 0;
        foreach (var batchCommand in Commands())
        {
            var affected = await RunAsync(batchCommand, (command, token) => command.ExecuteNonQueryAsync(token), cancellationToken).ConfigureAwait(false);
            batchCommand.RecordsAffectedValue = affected;
            total += Math.Max(affected, 0);
        }

        return total;
    }

    public override object? ExecuteScalar() => ExecuteScalarAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs every statement; returns the first column of the first row of the first statement's result.</summary>
    public override async Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken = default)
    {
        var reader = await ExecuteDbDataReaderAsync(CommandBehavior.Default, cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var value = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetValue(0) : null;
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
            {
                // Drained: every statement of the batch runs.
            }

            return value;
        }
    }

    public override void Prepare()
    {
        // Statements are prepared by the inner providers when they run.
    }

    public override Task PrepareAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public override void Cancel() => _running?.Cancel();

    public new KhonsuBatchCommand CreateBatchCommand() => new();

    protected override DbBatchCommand CreateDbBatchCommand() => CreateBatchCommand();

    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        => ExecuteDbDataReaderAsync(behavior, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>One reader over the results of every statement in turn: NextResult moves on to the next statement.</summary>
    protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
    {
        var commands = Commands();
        var reader = new KhonsuBatchDataReader(
            (index, token) => RunAsync(commands[index], (command, t) => command.ExecuteReaderAsync(behavior & ~CommandBehavior.CloseConnection, t), token),
            commands,
            behavior.HasFlag(CommandBehavior.CloseConnection) ? Connection : null);
        await reader.StartAsync(cancellationToken).ConfigureAwait(false);
        return reader;
    }

    private List<KhonsuBatchCommand> Commands()
    {
        if (BatchCommands.Count == 0)
        {
            throw new InvalidOperationException("The batch has no commands.");
        }

        return [.. BatchCommands.Cast<KhonsuBatchCommand>()];
    }

    private async Task<T> RunAsync<T>(KhonsuBatchCommand batchCommand, Func<KhonsuCommand, CancellationToken, Task<T>> execute, CancellationToken cancellationToken)
    {
        var command = new KhonsuCommand(batchCommand, Connection, Transaction, Timeout);
        _running = command;
        try
        {
            return await execute(command, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _running = null;
        }
    }
}
