using System.Data.Common;
using Khonsu.Data.Diagnostics;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// Puts each EF command into the Khonsu transaction in progress (the backend's local transaction,
/// begun on first use), measures it as Khonsu measures its own statements, and has the backend
/// track the rows a query reads. Readers are wrapped only for queries: EF's Npgsql provider casts
/// SaveChanges' reader to NpgsqlDataReader, and what SaveChanges reads back is its own writes.
/// </summary>
internal sealed class KhonsuCommandInterceptor(KhonsuBackendBinding binding) : DbCommandInterceptor
{
    private readonly Dictionary<DbCommand, Running> _running = new(ReferenceEqualityComparer.Instance);
    private readonly WriteConflictResolution _conflicts = new();

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        => ReaderExecutingAsync(command, eventData, result, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        var enlistment = await StartAsync(command, mayBeginImplicit: false, cancellationToken).ConfigureAwait(false);
        return await ResolvingConflictsAsync(
            command,
            enlistment,
            result,
            (c, token) => c.ExecuteReaderAsync(token),
            (c, token) => _conflicts.EmptyResultCommand(c).ExecuteReaderAsync(token),
            resultOpen: true,
            cancellationToken).ConfigureAwait(false);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
        => NonQueryExecutingAsync(command, eventData, result, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        var enlistment = await StartAsync(command, mayBeginImplicit: true, cancellationToken).ConfigureAwait(false);
        return await ResolvingConflictsAsync(
            command, enlistment, result, (c, token) => c.ExecuteNonQueryAsync(token), (_, _) => Task.FromResult(0), resultOpen: false, cancellationToken).ConfigureAwait(false);
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        StartAsync(command, mayBeginImplicit: true, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        await StartAsync(command, mayBeginImplicit: true, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
        => Track(command, eventData, result);

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(Track(command, eventData, result));

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        AfterNonQueryAsync(command, eventData, result, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        await AfterNonQueryAsync(command, eventData, result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        var running = End(command, null);
        RecordWriteReads(running, eventData, null);
        CommitImplicitAsync(running, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        var running = End(command, null);
        RecordWriteReads(running, eventData, null);
        await CommitImplicitAsync(running, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData)
        => RollBackImplicitAsync(End(command, eventData.Exception)).AsTask().GetAwaiter().GetResult();

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
        => RollBackImplicitAsync(End(command, eventData.Exception)).AsTask();

    public override void CommandCanceled(DbCommand command, CommandEndEventData eventData)
        => RollBackImplicitAsync(End(command, new OperationCanceledException())).AsTask().GetAwaiter().GetResult();

    public override Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
        => RollBackImplicitAsync(End(command, new OperationCanceledException())).AsTask();

    private async ValueTask<Enlistment?> StartAsync(DbCommand command, bool mayBeginImplicit, CancellationToken cancellationToken)
    {
        var telemetry = StatementTelemetry.Start(binding.Backend, command.Connection!, command.CommandText);
        Enlistment? enlistment;
        try
        {
            enlistment = await binding.EnlistAsync(command, mayBeginImplicit, cancellationToken).ConfigureAwait(false);
            await _conflicts.SettleAsync(enlistment, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            telemetry.End(error);
            throw;
        }

        lock (_running)
        {
            _running[command] = new Running(enlistment, telemetry);
        }

        return enlistment;
    }

    /// <summary>
    /// A write under a conflict policy runs here, inside the policy's savepoint (see
    /// <see cref="WriteConflictResolution"/>), and EF gets its result; any other statement EF runs itself.
    /// </summary>
    private async ValueTask<InterceptionResult<T>> ResolvingConflictsAsync<T>(
        DbCommand command,
        Enlistment? enlistment,
        InterceptionResult<T> result,
        Func<DbCommand, CancellationToken, Task<T>> execute,
        Func<DbCommand, CancellationToken, Task<T>> dropped,
        bool resultOpen,
        CancellationToken cancellationToken)
    {
        if (enlistment is null || result.HasResult)
        {
            return result;
        }

        var (ran, value) = await _conflicts.RunAsync(binding.Connection, command, enlistment, execute, dropped, resultOpen, cancellationToken).ConfigureAwait(false);
        return ran ? InterceptionResult<T>.SuppressWithResult(value) : result;
    }

    private DbDataReader Track(DbCommand command, CommandExecutedEventData eventData, DbDataReader reader)
    {
        var running = End(command, null);
        if (running?.Enlistment is not { } enlistment || eventData.CommandSource == CommandSource.SaveChanges)
        {
            return reader;
        }

        // A write returning rows (FromSql of UPDATE ... RETURNING): how many it changed is not known yet.
        RecordWriteReads(running, eventData, null);
        return new TrackingDataReader(reader, enlistment, command.CommandText);
    }

    /// <summary>
    /// What a write (ExecuteUpdate, ExecuteDelete, raw SQL) filtered on, as Khonsu records it for its
    /// own commands. SaveChanges' statements change the rows it tracks by key: what they read back is
    /// their own writes.
    /// </summary>
    private static void RecordWriteReads(Running? running, CommandExecutedEventData eventData, int? recordsAffected)
    {
        if (running?.Enlistment is { } enlistment && eventData.CommandSource != CommandSource.SaveChanges)
        {
            enlistment.Transaction.RecordWriteReads(enlistment.Route, recordsAffected);
        }
    }

    /// <summary>After DDL, Khonsu installs its triggers on new tables and refreshes its routing map, as for its own commands.</summary>
    private async ValueTask AfterNonQueryAsync(DbCommand command, CommandExecutedEventData eventData, int recordsAffected, CancellationToken cancellationToken)
    {
        var running = End(command, null);
        RecordWriteReads(running, eventData, recordsAffected);
        if (StatementTelemetry.OperationName(command.CommandText) is "CREATE" or "ALTER" or "DROP")
        {
            await binding.Connection.Runtime.OnSchemaChangedAsync(binding.Backend, command.Connection!, running?.Enlistment?.Local, cancellationToken).ConfigureAwait(false);
        }

        await CommitImplicitAsync(running, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A command run outside a transaction ended: its implicit transaction commits now. A conflict
    /// fails the command with Khonsu's transient 40001, which the context's execution strategy may retry.
    /// </summary>
    private static async ValueTask CommitImplicitAsync(Running? running, CancellationToken cancellationToken)
    {
        if (running?.Enlistment is { Implicit: true } enlistment)
        {
            await enlistment.Transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The command failed or was cancelled: an implicit transaction it began is rolled back.</summary>
    private static ValueTask RollBackImplicitAsync(Running? running)
        => running?.Enlistment is { Implicit: true } enlistment ? enlistment.Transaction.RollBackQuietlyAsync() : ValueTask.CompletedTask;

    private Running? End(DbCommand command, Exception? error)
    {
        Running? running;
        lock (_running)
        {
            _running.Remove(command, out running);
        }

        running?.Telemetry.End(error);
        if (error is System.Data.Common.DbException { IsTransient: true })
        {
            running?.Enlistment?.Transaction.FailedTransiently();
        }

        return running;
    }

    private sealed record Running(Enlistment? Enlistment, StatementScope Telemetry);
}
