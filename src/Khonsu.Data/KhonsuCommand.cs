using System.ComponentModel;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Khonsu.Data.Execution;
using Khonsu.Data.Routing;

namespace Khonsu.Data;

/// <summary>
/// A statement sent to the one backend that owns the tables it names, inside that backend's local
/// transaction when a Khonsu transaction is in progress. The statement runs at once, for real.
/// With none in progress, a statement that writes rows is a Khonsu transaction of its own (see
/// <see cref="RouteDecision.RunsAsImplicitTransaction"/>), committed when it ends.
/// </summary>
public sealed class KhonsuCommand : DbCommand, IKhonsuStatement
{
    private readonly KhonsuParameterCollection _parameters = new();
    private string _commandText = string.Empty;
    private KhonsuConnection? _connection;
    private KhonsuTransaction? _transaction;
    private StatementExecution? _running;
    private int _commandTimeout = 30;

    /// <summary>A command with no text and no connection yet.</summary>
    public KhonsuCommand()
    {
    }

    /// <summary>A command with the SQL text <paramref name="commandText"/>, on <paramref name="connection"/> if given.</summary>
    public KhonsuCommand(string commandText, KhonsuConnection? connection = null)
    {
        _commandText = commandText;
        _connection = connection;
    }

    /// <summary>A command of a batch: it shares the batch command's parameters, so output values land there.</summary>
    internal KhonsuCommand(KhonsuBatchCommand batchCommand, KhonsuConnection? connection, KhonsuTransaction? transaction, int timeout)
    {
        _commandText = batchCommand.CommandText;
        _parameters = batchCommand.Parameters;
        _connection = connection;
        _transaction = transaction;
        CommandType = batchCommand.CommandType;
        CommandTimeout = timeout;
    }

    /// <inheritdoc/>
    [AllowNull]
    public override string CommandText
    {
        get => _commandText;
        set
        {
            ThrowIfReaderOpen();
            _commandText = value ?? string.Empty;
        }
    }

    /// <summary>Seconds a statement may run; 0 for no limit. Negative values are refused, as Npgsql refuses them.</summary>
    public override int CommandTimeout
    {
        get => _commandTimeout;
        set => _commandTimeout = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "CommandTimeout must be 0 (no limit) or a positive number of seconds.");
    }

    /// <inheritdoc/>
    public override CommandType CommandType { get; set; } = CommandType.Text;

    /// <inheritdoc/>
    [DefaultValue(true)]
    public override bool DesignTimeVisible { get; set; } = true;

    /// <inheritdoc/>
    public override UpdateRowSource UpdatedRowSource { get; set; } = UpdateRowSource.None;

    /// <summary>The Khonsu connection the command runs on; it cannot change while a reader of the command is open.</summary>
    public new KhonsuConnection? Connection
    {
        get => _connection;
        set
        {
            ThrowIfReaderOpen();
            _connection = value;
        }
    }

    /// <summary>The command's parameters, copied onto the inner provider's parameters when the statement runs.</summary>
    public new KhonsuParameterCollection Parameters => _parameters;

    /// <summary>The Khonsu transaction the command runs in. Null runs it in the connection's transaction in progress, as Npgsql does, or with none on its own; one given must be that transaction, or the command throws when it runs.</summary>
    public new KhonsuTransaction? Transaction
    {
        get => _transaction;
        set => _transaction = value;
    }

    /// <inheritdoc/>
    protected override DbConnection? DbConnection
    {
        get => _connection;
        set => Connection = value switch
        {
            null => null,
            KhonsuConnection khonsu => khonsu,
            _ => throw new ArgumentException($"A KhonsuCommand needs a KhonsuConnection, not {value.GetType().Name}.", nameof(value)),
        };
    }

    /// <inheritdoc/>
    protected override DbParameterCollection DbParameterCollection => _parameters;

    /// <inheritdoc/>
    protected override DbTransaction? DbTransaction
    {
        get => _transaction;
        set => _transaction = value switch
        {
            null => null,
            KhonsuTransaction khonsu => khonsu,
            _ => throw new ArgumentException($"A KhonsuCommand needs a KhonsuTransaction, not {value.GetType().Name}.", nameof(value)),
        };
    }

    /// <summary>Cancels the statement running now, if any, through the inner provider of the backend it was routed to.</summary>
    public override void Cancel() => _running?.Command.Cancel();

    /// <summary>
    /// Checks what running the command needs (an open connection, a command text), as Npgsql's
    /// Prepare does. The statement itself is prepared by the inner provider when it runs, on the
    /// backend it is routed to.
    /// </summary>
    public override void Prepare() => CheckRunnable();

    /// <summary>Creates a parameter for <see cref="Parameters"/> (not added to it).</summary>
    public new KhonsuParameter CreateParameter() => new();

    /// <inheritdoc/>
    protected override DbParameter CreateDbParameter() => CreateParameter();

    /// <inheritdoc/>
    public override int ExecuteNonQuery() => ExecuteNonQuery(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken) => ExecuteNonQuery(async: true, cancellationToken);

    /// <inheritdoc/>
    public override object? ExecuteScalar() => ExecuteScalar(async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Read through a reader, so that the row the value comes from is tracked like any other read.</summary>
    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken) => ExecuteScalar(async: true, cancellationToken);

    /// <inheritdoc/>
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        => ExecuteReader(behavior, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc/>
    protected override Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
        => ExecuteReader(behavior, async: true, cancellationToken);

    // Each of these is the one code path of its synchronous and asynchronous methods (see
    // Execution/SyncOrAsync.cs): with async false, the inner provider's synchronous methods run.
    private Task<int> ExecuteNonQuery(bool async, CancellationToken cancellationToken)
        => RunAsync(
            async (command, token) =>
            {
                var affected = async ? await command.ExecuteNonQueryAsync(token).ConfigureAwait(false) : command.ExecuteNonQuery();
                return (affected, affected);
            },
            dropped: 0,
            async,
            cancellationToken);

    private Task<object?> ExecuteScalar(bool async, CancellationToken cancellationToken)
        => RunAsync(
            async (command, token) =>
            {
                var execution = _running!;
                var held = execution.OpenServed();
                var reads = execution.NewReaderReads();
                var reader = held ?? (async ? await command.ExecuteReaderAsync(token).ConfigureAwait(false) : command.ExecuteReader());
                try
                {
                    var hasRow = async ? await reader.ReadAsync(token).ConfigureAwait(false) : reader.Read();
                    reads?.OnRead(reader, hasRow);
                    if (hasRow)
                    {
                        execution.Capture?.OnRow(reader);
                    }

                    reads?.EndResultSet();
                    var value = hasRow ? reader.GetValue(0) : null;

                    // Known once the reader has closed, which runs what is left of the statement.
                    if (async)
                    {
                        await reader.CloseAsync().ConfigureAwait(false);
                    }
                    else
                    {
                        reader.Close();
                    }

                    return (value, (int?)reader.RecordsAffected);
                }
                finally
                {
                    await SyncOrAsync.DisposeAsync(reader, async).ConfigureAwait(false);
                }
            },
            dropped: null,
            async,
            cancellationToken,
            servable: true);

    private async Task<DbDataReader> ExecuteReader(CommandBehavior behavior, bool async, CancellationToken cancellationToken)
    {
        var execution = await BeginAsync(async, cancellationToken, servable: true).ConfigureAwait(false);
        var closeOnEnd = behavior.HasFlag(CommandBehavior.CloseConnection) ? _connection : null;
        try
        {
            // The inner connection belongs to the Khonsu connection: only Khonsu closes it.
            // Read tracking reads each row's key and version columns before the caller reads any
            // column, so the inner reader cannot be sequential (Dapper's async queries ask for
            // SequentialAccess, which Npgsql enforces); the hint only ever saves buffering.
            var innerBehavior = behavior & ~(CommandBehavior.CloseConnection | CommandBehavior.SequentialAccess);
            var opened = await execution.ExecuteAsync((command, token) => OpenReaderAsync(execution, command, innerBehavior, async, token), default, cancellationToken).ConfigureAwait(false);
            if (execution.Dropped)
            {
                return new DroppedStatementReader(endAsync => EndAsync(execution, endAsync), closeOnEnd);
            }

            execution.Ran();
            return new KhonsuDataReader(opened.Reader, execution, closeOnEnd, endAsync => EndAsync(execution, endAsync), opened.FirstRead, _parameters);
        }
        catch (DbException error) when (execution.Translate(error) is KhonsuException translated && translated != error)
        {
            NoteFailure(translated);
            await EndAsync(execution, async, error).ConfigureAwait(false);
            throw translated;
        }
        catch (Exception error)
        {
            NoteFailure(error);
            await EndAsync(execution, async, error).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens the statement's reader. Under a write-conflict guard the first row is read at once:
    /// a PostgreSQL write with RETURNING runs to its end before it sends a row, so its conflict
    /// surfaces here, before the caller has seen anything, where a policy can still resolve it.
    /// </summary>
    private static async Task<OpenedReader> OpenReaderAsync(StatementExecution execution, DbCommand command, CommandBehavior behavior, bool async, CancellationToken cancellationToken)
    {
        if (execution.OpenServed() is { } held)
        {
            return new OpenedReader(held, null);
        }

        var reader = async ? await command.ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false) : command.ExecuteReader(behavior);
        if (!execution.Guarded)
        {
            return new OpenedReader(reader, null);
        }

        try
        {
            return new OpenedReader(reader, async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read());
        }
        catch
        {
            await SyncOrAsync.DisposeAsync(reader, async).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs the statement through its four phases (see <see cref="StatementExecution"/>);
    /// <paramref name="execute"/> returns its result and how many rows it changed (null: unknown).
    /// <paramref name="dropped"/> is its result when the Ignore policy drops it.
    /// </summary>
    /// <param name="servable">The caller reads the statement's result (a scalar): a prefetch held for it may serve it.</param>
    private async Task<T> RunAsync<T>(Func<DbCommand, CancellationToken, Task<(T Result, int? RecordsAffected)>> execute, T dropped, bool async, CancellationToken cancellationToken, bool servable = false)
    {
        var execution = await BeginAsync(async, cancellationToken, servable).ConfigureAwait(false);
        Exception? failure = null;
        try
        {
            var (result, recordsAffected) = await execution.ExecuteAsync(execute, (dropped, 0), cancellationToken).ConfigureAwait(false);
            if (execution.Dropped)
            {
                return dropped;
            }

            execution.Ran();
            await execution.CompleteAsync(recordsAffected, cancellationToken).ConfigureAwait(false);
            await execution.ObservedAsync(_parameters, async, cancellationToken).ConfigureAwait(false);
            await execution.CommitImplicitAsync(async, cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch (DbException error) when (execution.Translate(error) is KhonsuException translated && translated != error)
        {
            // Measured as the backend reported it; the caller gets Khonsu's serialization failure.
            failure = error;
            NoteFailure(translated);
            throw translated;
        }
        catch (Exception error) when (NoteFailure(error))
        {
            throw; // not reached: the filter only notes the failure
        }
        catch (Exception error)
        {
            failure = error;
            throw;
        }
        finally
        {
            await EndAsync(execution, async, failure).ConfigureAwait(false);
        }
    }

    /// <summary>The begin phase, after the checks ADO.NET makes of a command about to run.</summary>
    private async ValueTask<StatementExecution> BeginAsync(bool async, CancellationToken cancellationToken, bool servable = false)
    {
        cancellationToken.ThrowIfCancellationRequested();
        CheckRunnable();
        ThrowIfReaderOpen();
        foreach (KhonsuParameter parameter in _parameters)
        {
            if (parameter.Value is null && parameter.Direction is ParameterDirection.Input or ParameterDirection.InputOutput)
            {
                throw new InvalidOperationException($"Parameter '{parameter.ParameterName}' has no Value: set it, to DBNull.Value for NULL.");
            }
        }

        try
        {
            _running = await StatementExecution.BeginAsync(this, async, cancellationToken, servable ? _parameters : null).ConfigureAwait(false);
            return _running;
        }
        catch (Exception error) when (NoteFailure(error))
        {
            throw; // not reached: the filter only notes the failure
        }
    }

    private void CheckRunnable()
    {
        var connection = _connection ?? throw new InvalidOperationException("The command has no connection.");
        if (connection.State != ConnectionState.Open)
        {
            throw new InvalidOperationException("The command's connection is not open.");
        }

        if (string.IsNullOrWhiteSpace(_commandText))
        {
            throw new InvalidOperationException("The command has no CommandText.");
        }
    }

    // While a reader of this command is open its statement is still running (it ends when the
    // reader closes), as with Microsoft.Data.Sqlite and Npgsql.
    private void ThrowIfReaderOpen()
    {
        if (_running is not null)
        {
            throw new InvalidOperationException("The command has a reader open: close it before changing the command or running it again.");
        }
    }

    /// <summary>Tells the transaction the statement failed transiently (its retry keeps its age); never catches.</summary>
    private bool NoteFailure(Exception error)
        => (_transaction ?? _connection?.ExecutionConnection.CurrentTransaction)?.Retry.FailedTransiently(error) ?? false;

    private async ValueTask EndAsync(StatementExecution execution, bool async, Exception? error = null)
    {
        if (_running == execution)
        {
            _running = null;
        }

        await execution.EndAsync(async, error).ConfigureAwait(false);
    }

    /// <summary>An open inner reader; <paramref name="FirstRead"/> is what its first Read returned when it was read ahead.</summary>
    private readonly record struct OpenedReader(DbDataReader Reader, bool? FirstRead);

    KhonsuConnection IKhonsuStatement.Connection => _connection!.ExecutionConnection;

    KhonsuTransaction? IKhonsuStatement.Transaction => _transaction;

    DbCommand? IKhonsuStatement.GivenCommand => null;

    bool IKhonsuStatement.MayBeginImplicit => true;

    bool IKhonsuStatement.RecordsWriteReads => true;

    RouteDecision IKhonsuStatement.Route() => _connection!.Runtime.Router.Route(_commandText);

    void IKhonsuStatement.CopyParametersTo(DbCommand inner) => ParameterCopier.CopyIn(_parameters, inner);

    void IKhonsuStatement.CopyParametersFrom(DbCommand inner) => ParameterCopier.CopyOut(inner, _parameters);
}
