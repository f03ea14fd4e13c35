using System.ComponentModel;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Data.Routing;

namespace Khonsu.Data;

/// <summary>
/// A statement sent to the one backend that owns the tables it names, inside that backend's local
/// transaction when a Khonsu transaction is in progress. The statement runs at once, for real.
/// With none in progress, a statement that writes rows is a Khonsu transaction of its own (see
/// <see cref="RouteDecision.RunsAsImplicitTransaction"/>), committed when it ends.
/// </summary>
public sealed class KhonsuCommand : DbCommand
{
    private readonly KhonsuParameterCollection _parameters = new();
    private string _commandText = string.Empty;
    private KhonsuConnection? _connection;
    private KhonsuTransaction? _transaction;
    private DbCommand? _running;

    public KhonsuCommand()
    {
    }

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

    [AllowNull]
    public override string CommandText
    {
        get => _commandText;
        set => _commandText = value ?? string.Empty;
    }

    public override int CommandTimeout { get; set; } = 30;

    public override CommandType CommandType { get; set; } = CommandType.Text;

    [DefaultValue(true)]
    public override bool DesignTimeVisible { get; set; } = true;

    public override UpdateRowSource UpdatedRowSource { get; set; } = UpdateRowSource.None;

    public new KhonsuConnection? Connection
    {
        get => _connection;
        set => _connection = value;
    }

    public new KhonsuParameterCollection Parameters => _parameters;

    public new KhonsuTransaction? Transaction
    {
        get => _transaction;
        set => _transaction = value;
    }

    protected override DbConnection? DbConnection
    {
        get => _connection;
        set => _connection = value switch
        {
            null => null,
            KhonsuConnection khonsu => khonsu,
            _ => throw new ArgumentException($"A KhonsuCommand needs a KhonsuConnection, not {value.GetType().Name}.", nameof(value)),
        };
    }

    protected override DbParameterCollection DbParameterCollection => _parameters;

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

    public override void Cancel() => _running?.Cancel();

    public override void Prepare()
    {
        // Statements are prepared by the inner provider when they run; nothing to do ahead of routing.
    }

    public new KhonsuParameter CreateParameter() => new();

    protected override DbParameter CreateDbParameter() => CreateParameter();

    public override int ExecuteNonQuery() => ExecuteNonQueryAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken)
        => RunAsync(
            async (statement, token) =>
            {
                var affected = await statement.Inner.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                return (affected, affected);
            },
            dropped: 0,
            cancellationToken);

    public override object? ExecuteScalar() => ExecuteScalarAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Read through a reader, so that the row the value comes from is tracked like any other read.</summary>
    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken)
        => RunAsync(
            async (statement, token) =>
            {
                var reads = statement.NewReaderReads();
                var reader = await statement.Inner.ExecuteReaderAsync(token).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    var hasRow = await reader.ReadAsync(token).ConfigureAwait(false);
                    reads?.OnRead(reader, hasRow);
                    reads?.EndResultSet();
                    var value = hasRow ? reader.GetValue(0) : null;

                    // Known once the reader has closed, which runs what is left of the statement.
                    await reader.CloseAsync().ConfigureAwait(false);
                    return (value, (int?)reader.RecordsAffected);
                }
            },
            dropped: null,
            cancellationToken);

    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        => ExecuteDbDataReaderAsync(behavior, CancellationToken.None).GetAwaiter().GetResult();

    protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
    {
        try
        {
            return await OpenDataReaderAsync(behavior, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (NoteFailure(error))
        {
            throw; // not reached: the filter only notes the failure
        }
    }

    private async Task<DbDataReader> OpenDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
    {
        var statement = await StartAsync(cancellationToken).ConfigureAwait(false);
        var closeOnEnd = behavior.HasFlag(CommandBehavior.CloseConnection) ? _connection : null;
        RunningStatement? ran = null;
        try
        {
            // The inner connection belongs to the Khonsu connection: only Khonsu closes it.
            // Read tracking reads each row's key and version columns before the caller reads any
            // column, so the inner reader cannot be sequential (Dapper's async queries ask for
            // SequentialAccess, which Npgsql enforces); the hint only ever saves buffering.
            var innerBehavior = behavior & ~(CommandBehavior.CloseConnection | CommandBehavior.SequentialAccess);
            GuardedOutcome<OpenedReader> outcome;
            try
            {
                outcome = await ExecuteGuardedAsync(statement, (running, token) => OpenReaderAsync(running, innerBehavior, token), cancellationToken).ConfigureAwait(false);
            }
            catch (DbException error) when (statement.Translate(error) is KhonsuException translated)
            {
                throw translated;
            }

            ran = outcome.Ran;
            if (outcome.Dropped)
            {
                return new DroppedStatementReader(() => EndAsync(statement), closeOnEnd);
            }

            ran.Ran();
            var branch = ran == statement ? null : ran;
            return new KhonsuDataReader(outcome.Result.Reader, ran, closeOnEnd, () => EndAsync(statement, branch), outcome.Result.FirstRead);
        }
        catch (Exception error)
        {
            statement.Telemetry?.End(error);
            await EndAsync(statement, ran == statement ? null : ran).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens the statement's reader. Under a write-conflict guard the first row is read at once:
    /// a PostgreSQL write with RETURNING runs to its end before it sends a row, so its conflict
    /// surfaces here, before the caller has seen anything, where a policy can still resolve it.
    /// </summary>
    private static async Task<OpenedReader> OpenReaderAsync(RunningStatement statement, CommandBehavior behavior, CancellationToken cancellationToken)
    {
        var reader = await statement.Inner.ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false);
        if (!statement.Guarded)
        {
            return new OpenedReader(reader, null);
        }

        try
        {
            return new OpenedReader(reader, await reader.ReadAsync(cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs the statement; <paramref name="execute"/> returns its result and how many rows it
    /// changed (null: unknown). <paramref name="dropped"/> is its result when the Ignore policy drops it.
    /// </summary>
    private async Task<T> RunAsync<T>(Func<RunningStatement, CancellationToken, Task<(T Result, int? RecordsAffected)>> execute, T dropped, CancellationToken cancellationToken)
    {
        try
        {
            return await RunStatementAsync(execute, dropped, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (NoteFailure(error))
        {
            throw; // not reached: the filter only notes the failure
        }
    }

    /// <summary>Tells the transaction the statement failed transiently (its retry keeps its age); never catches.</summary>
    private bool NoteFailure(Exception error)
        => (_transaction ?? _connection?.CurrentTransaction)?.FailedTransiently(error) ?? false;

    private async Task<T> RunStatementAsync<T>(Func<RunningStatement, CancellationToken, Task<(T Result, int? RecordsAffected)>> execute, T dropped, CancellationToken cancellationToken)
    {
        var statement = await StartAsync(cancellationToken).ConfigureAwait(false);
        RunningStatement? ran = null;
        try
        {
            var outcome = await ExecuteGuardedAsync(statement, execute, cancellationToken).ConfigureAwait(false);
            ran = outcome.Ran;
            if (outcome.Dropped)
            {
                return dropped;
            }

            ran.Ran();
            await ran.CompleteAsync(outcome.Result.RecordsAffected, cancellationToken).ConfigureAwait(false);
            await statement.CommitImplicitAsync(cancellationToken).ConfigureAwait(false);
            return outcome.Result.Result;
        }
        catch (DbException error) when (statement.Translate(error) is KhonsuException translated && translated != error)
        {
            // Measured as the backend reported it; the caller gets Khonsu's serialization failure.
            statement.Telemetry?.End(error);
            throw translated;
        }
        catch (Exception error)
        {
            statement.Telemetry?.End(error);
            throw;
        }
        finally
        {
            await EndAsync(statement, ran == statement ? null : ran).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs <paramref name="execute"/> under the statement's write-conflict guard, if it has one:
    /// a conflict the database reports on the statement goes to the table's policy, which drops
    /// the statement (Ignore), runs it again on the participant's branch (Replace), or runs it
    /// again with new keys for the rows whose key a concurrent insert took (Append).
    /// </summary>
    private async Task<GuardedOutcome<T>> ExecuteGuardedAsync<T>(RunningStatement statement, Func<RunningStatement, CancellationToken, Task<T>> execute, CancellationToken cancellationToken)
    {
        var guard = await statement.GuardAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return new GuardedOutcome<T>(statement, false, await execute(statement, cancellationToken).ConfigureAwait(false));
        }
        catch (DbException error) when (guard is not null && guard.Covers(error))
        {
            switch (await guard.ResolveAsync(error, _commandText, cancellationToken).ConfigureAwait(false))
            {
                case KhonsuConflictPolicy.Ignore:
                    statement.Dropped();
                    return new GuardedOutcome<T>(statement, true, default!);
                case KhonsuConflictPolicy.Append:
                    // The guard stays: its savepoint and the new keys go when the statement completes.
                    return new GuardedOutcome<T>(statement, false, await execute(statement, cancellationToken).ConfigureAwait(false));
                case KhonsuConflictPolicy.Replace:
                    var branch = await statement.OnBranchAsync(cancellationToken).ConfigureAwait(false);
                    if (branch is null)
                    {
                        throw;
                    }

                    _running = branch.Inner;
                    try
                    {
                        return new GuardedOutcome<T>(branch, false, await execute(branch, cancellationToken).ConfigureAwait(false));
                    }
                    catch
                    {
                        await branch.Inner.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }

                default:
                    throw;
            }
        }
    }

    private async ValueTask<RunningStatement> StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = _connection ?? throw new InvalidOperationException("The command has no connection.");
        if (connection.State != ConnectionState.Open)
        {
            throw new InvalidOperationException("The command's connection is not open.");
        }

        if (string.IsNullOrWhiteSpace(_commandText))
        {
            throw new InvalidOperationException("The command has no CommandText.");
        }

        var transaction = ResolveTransaction(connection);
        var route = connection.Runtime.Router.Route(_commandText);
        if (transaction is { IsReadOnly: true } && route.Writes)
        {
            throw KhonsuException.ReadOnlyViolation(
                $"Transaction {transaction.TransactionId} is read-only: cannot execute {FirstWord(_commandText)} on backend '{route.Backend.Name}'.",
                transaction.Id);
        }

        var innerConnection = await connection.GetInnerConnectionAsync(route.Backend, cancellationToken).ConfigureAwait(false);
        var telemetry = Diagnostics.StatementTelemetry.Start(route.Backend, innerConnection, _commandText);
        var begun = transaction is null && route.RunsAsImplicitTransaction && connection.Runtime.Settings.Autocommit == AutocommitMode.Transaction
            ? connection.BeginImplicitTransaction()
            : null;
        transaction ??= begun;
        BackendTransaction? local = null;
        if (transaction is not null)
        {
            try
            {
                local = await transaction.EnlistAsync(route.Backend, innerConnection, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                telemetry.End(error);
                if (begun is not null)
                {
                    await begun.RollBackQuietlyAsync().ConfigureAwait(false);
                }

                throw;
            }

            transaction.Record(route.Backend.Name, _commandText);
        }

        // After a Replace, writes to the replaced tables go to the branch, which holds their rows' locks.
        var onBranch = transaction is not null && transaction.WritesOnBranch(route);
        var inner = onBranch ? await local!.CreateBranchCommandAsync(cancellationToken).ConfigureAwait(false) ?? innerConnection.CreateCommand() : innerConnection.CreateCommand();
        inner.CommandText = _commandText;
        inner.CommandType = CommandType;
        inner.CommandTimeout = CommandTimeout;
        inner.Transaction = onBranch ? null : local?.InnerTransaction;
        try
        {
            ParameterCopier.CopyIn(_parameters, inner);
            if (local is not null && transaction!.IsolationLevel == IsolationLevel.Serializable && !onBranch)
            {
                // Only a serializable transaction's reads go to the certifier.
                route = await connection.Runtime.Router.WithParsedReadsAsync(route, local, inner, cancellationToken).ConfigureAwait(false);
            }

            if (local is not null)
            {
                await local.BeforeStatementAsync(inner, transaction!.SpansSeveralBackends, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception error)
        {
            telemetry.End(error);
            await inner.DisposeAsync().ConfigureAwait(false);
            if (begun is not null)
            {
                await begun.RollBackQuietlyAsync().ConfigureAwait(false);
            }

            throw;
        }

        _running = inner;
        return new RunningStatement(connection, transaction, route, innerConnection, local, inner, _parameters) { Telemetry = telemetry, OnBranch = onBranch, Implicit = begun };
    }

    /// <summary>
    /// Ends the statement: its inner command goes, and its branch's command when it ran again
    /// there; an implicit transaction it began and did not commit (the statement or its commit
    /// failed, or its reader closed early on an error) is rolled back.
    /// </summary>
    private async ValueTask EndAsync(RunningStatement statement, RunningStatement? branch = null)
    {
        _running = null;
        statement.Ended();
        statement.Telemetry?.End();
        if (branch is not null)
        {
            await branch.Inner.DisposeAsync().ConfigureAwait(false);
        }

        await statement.Inner.DisposeAsync().ConfigureAwait(false);
        if (statement.Implicit is { } begun)
        {
            await begun.RollBackQuietlyAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A statement's result once past its guard: the statement that produced it (itself or its branch), or dropped.</summary>
    private readonly record struct GuardedOutcome<T>(RunningStatement Ran, bool Dropped, T Result);

    /// <summary>An open inner reader; <paramref name="FirstRead"/> is what its first Read returned when it was read ahead.</summary>
    private readonly record struct OpenedReader(DbDataReader Reader, bool? FirstRead);

    /// <summary>The statement's verb, as PostgreSQL names it in the same error; never its values.</summary>
    private static string FirstWord(string sql)
    {
        var text = sql.AsSpan().TrimStart();
        var end = text.IndexOfAny(" \t\r\n(;");
        return (end < 0 ? text : text[..end]).ToString().ToUpperInvariant();
    }

    private KhonsuTransaction? ResolveTransaction(KhonsuConnection connection)
    {
        var current = connection.CurrentTransaction;
        if (_transaction is null)
        {
            // As Npgsql does: a command on a connection with a transaction in progress runs in it.
            return current;
        }

        if (_transaction.IsCompleted || _transaction != current)
        {
            throw new InvalidOperationException("The command's transaction has completed or belongs to another connection.");
        }

        return _transaction;
    }
}
