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

    /// <summary>A batch with no connection yet; set <see cref="Connection"/> before running it.</summary>
    public KhonsuBatch()
    {
    }

    /// <summary>A batch on <paramref name="connection"/>.</summary>
    public KhonsuBatch(KhonsuConnection connection) => Connection = connection;

    /// <summary>The batch's statements, in the order they run.</summary>
    public new KhonsuBatchCommandCollection BatchCommands { get; } = new();

    /// <summary>The Khonsu connection the statements run on.</summary>
    public new KhonsuConnection? Connection { get; set; }

    /// <summary>The Khonsu transaction the statements run in, as <see cref="KhonsuCommand.Transaction"/> for each of them.</summary>
    public new KhonsuTransaction? Transaction { get; set; }

    /// <summary>Seconds each statement may run (given to each statement as its <see cref="KhonsuCommand.CommandTimeout"/>, not to the batch as a whole); 30 by default, 0 for no limit.</summary>
    public override int Timeout { get; set; } = 30;

    /// <inheritdoc/>
    protected override DbBatchCommandCollection DbBatchCommands => BatchCommands;

    /// <inheritdoc/>
    protected override DbConnection? DbConnection
    {
        get => Connection;
        set => Connection = value as KhonsuConnection ?? (value is null ? null : throw new ArgumentException($"A KhonsuBatch runs on a KhonsuConnection, not {value.GetType().Name}."));
    }

    /// <inheritdoc/>
    protected override DbTransaction? DbTransaction
    {
        get => Transaction;
        set => Transaction = value as KhonsuTransaction ?? (value is null ? null : throw new ArgumentException($"A KhonsuBatch runs in a KhonsuTransaction, not {value.GetType().Name}."));
    }

    /// <inheritdoc/>
    public override int ExecuteNonQuery() => ExecuteNonQuery(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs every statement; returns the rows changed by all of them (statements that report none count 0).</summary>
    public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken = default) => ExecuteNonQuery(async: true, cancellationToken);

    /// <inheritdoc/>
    public override object? ExecuteScalar() => ExecuteScalar(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs every statement; returns the first column of the first row of the first statement's result.</summary>
    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken = default) => ExecuteScalar(async: true, cancellationToken);

    /// <summary>Does nothing: each statement is prepared by its inner provider when it runs, on the backend it is routed to.</summary>
    public override void Prepare()
    {
        // Statements are prepared by the inner providers when they run.
    }

    /// <summary>Does nothing, as <see cref="Prepare"/>.</summary>
    public override Task PrepareAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Cancels the statement running now, if any, through its inner provider.</summary>
    public override void Cancel() => _running?.Cancel();

    /// <summary>Creates a statement for <see cref="BatchCommands"/> (not added to it).</summary>
    public new KhonsuBatchCommand CreateBatchCommand() => new();

    /// <inheritdoc/>
    protected override DbBatchCommand CreateDbBatchCommand() => CreateBatchCommand();

    /// <inheritdoc/>
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        => ExecuteReader(behavior, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>One reader over the results of every statement in turn: NextResult moves on to the next statement.</summary>
    protected override Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
        => ExecuteReader(behavior, async: true, cancellationToken);

    // Each of these is the one code path of its synchronous and asynchronous methods (see
    // Execution/SyncOrAsync.cs): with async false, every statement runs synchronously.
    private async Task<int> ExecuteNonQuery(bool async, CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var batchCommand in Commands())
        {
            var affected = await RunAsync(batchCommand, (command, token) => async ? command.ExecuteNonQueryAsync(token) : Task.FromResult(command.ExecuteNonQuery()), cancellationToken).ConfigureAwait(false);
            batchCommand.RecordsAffectedValue = affected;
            total += Math.Max(affected, 0);
        }

        return total;
    }

    private async Task<object?> ExecuteScalar(bool async, CancellationToken cancellationToken)
    {
        var reader = await ExecuteReader(CommandBehavior.Default, async, cancellationToken).ConfigureAwait(false);
        try
        {
            var value = (async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read()) ? reader.GetValue(0) : null;
            while (async ? await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) : reader.NextResult())
            {
                // Drained: every statement of the batch runs.
            }

            return value;
        }
        finally
        {
            await Execution.SyncOrAsync.DisposeAsync(reader, async).ConfigureAwait(false);
        }
    }

    private async Task<DbDataReader> ExecuteReader(CommandBehavior behavior, bool async, CancellationToken cancellationToken)
    {
        var commands = Commands();
        var inner = behavior & ~CommandBehavior.CloseConnection;
        var reader = new KhonsuBatchDataReader(
            (index, runAsync, token) => RunAsync(commands[index], (command, t) => runAsync ? command.ExecuteReaderAsync(inner, t) : Task.FromResult<DbDataReader>(command.ExecuteReader(inner)), token),
            commands,
            behavior.HasFlag(CommandBehavior.CloseConnection) ? Connection : null);
        await reader.StartAsync(async, cancellationToken).ConfigureAwait(false);
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
