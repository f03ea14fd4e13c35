using System.Data.Common;
using Khonsu.Data.Diagnostics;
using Khonsu.Data.Execution;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// Runs each EF command through Khonsu's statement pipeline (<see cref="StatementExecution"/>), as
/// Khonsu's own commands are run, phase by phase on EF's hooks: begin when EF is about to execute
/// it (the Khonsu transaction in progress, or an implicit one for a write outside a transaction),
/// execute (EF's own, or Khonsu's when a write-conflict policy or a Replace branch applies: see
/// <see cref="WriteConflictResolution"/>), complete when EF has its result, end whichever way it
/// ended. A command outside any Khonsu transaction runs as EF runs it, and is only measured.
/// Readers are wrapped to track what a query reads, except SaveChanges': EF's Npgsql provider casts
/// its reader to NpgsqlDataReader, and what SaveChanges reads back is its own writes.
/// </summary>
internal sealed class KhonsuCommandInterceptor(KhonsuBackendBinding binding) : DbCommandInterceptor
{
    private readonly Dictionary<DbCommand, Running> _running = new(ReferenceEqualityComparer.Instance);
    private readonly WriteConflictResolution _conflicts = new();

    // Each hook and its Async twin run one body, given async (Npgsql's bool async pattern): EF's
    // synchronous hooks (SaveChanges, ToList) run the statement pipeline, and an implicit
    // transaction's commit, with synchronous I/O, so the task waited on has completed.
    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        => ReaderExecutingAsync(command, eventData, result, async: false, CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        => ReaderExecutingAsync(command, eventData, result, async: true, cancellationToken);

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
        => NonQueryExecutingAsync(command, eventData, result, async: false, CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        => NonQueryExecutingAsync(command, eventData, result, async: true, cancellationToken);

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
        => ScalarExecutingAsync(command, eventData, result, async: false, CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
        => ScalarExecutingAsync(command, eventData, result, async: true, cancellationToken);

    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
        => ReaderExecutedAsync(command, eventData, result, async: false, CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
        => ReaderExecutedAsync(command, eventData, result, async: true, cancellationToken);

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        CompleteAsync(Take(command), result, async: false, CancellationToken.None).GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        await CompleteAsync(Take(command), result, async: true, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        CompleteAsync(Take(command), null, async: false, CancellationToken.None).GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        await CompleteAsync(Take(command), null, async: true, cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData)
        => EndAsync(Take(command), eventData.Exception, async: false).GetAwaiter().GetResult();

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
        => EndAsync(Take(command), eventData.Exception, async: true).AsTask();

    public override void CommandCanceled(DbCommand command, CommandEndEventData eventData)
        => EndAsync(Take(command), new OperationCanceledException(), async: false).GetAwaiter().GetResult();

    public override Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
        => EndAsync(Take(command), new OperationCanceledException(), async: true).AsTask();

    private async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, bool async, CancellationToken cancellationToken)
    {
        var execution = await BeginAsync(command, eventData, mayBeginImplicit: false, async, cancellationToken).ConfigureAwait(false);
        return await RunUnderPolicyAsync(
            execution,
            result,
            (c, token) => SyncOrAsync.ExecuteReaderAsync(c, async, token).AsTask(),
            (c, token) => SyncOrAsync.ExecuteReaderAsync(_conflicts.EmptyResultCommand(c), async, token).AsTask(),
            resultOpen: true,
            cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, bool async, CancellationToken cancellationToken)
    {
        var execution = await BeginAsync(command, eventData, mayBeginImplicit: true, async, cancellationToken).ConfigureAwait(false);
        return await RunUnderPolicyAsync(
            execution, result, (c, token) => SyncOrAsync.ExecuteNonQueryAsync(c, async, token).AsTask(), (_, _) => Task.FromResult(0), resultOpen: false, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, bool async, CancellationToken cancellationToken)
    {
        var execution = await BeginAsync(command, eventData, mayBeginImplicit: true, async, cancellationToken).ConfigureAwait(false);
        return await RunUnderPolicyAsync(
            execution, result, async (c, token) => (await SyncOrAsync.ExecuteScalarAsync(c, async, token).ConfigureAwait(false))!, (_, _) => Task.FromResult<object>(null!), resultOpen: false, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, bool async, CancellationToken cancellationToken)
    {
        var running = Take(command);
        if (running?.Execution is not { } execution)
        {
            running?.Telemetry?.End();
            return result;
        }

        // A write returning rows (FromSql of UPDATE ... RETURNING): how many it changed is not known yet.
        execution.Ran();
        await execution.CompleteAsync(null, cancellationToken, keepGuard: _conflicts.StillReads(execution)).ConfigureAwait(false);
        var reads = eventData.CommandSource == CommandSource.SaveChanges ? null : execution.NewReaderReads();
        if (!_conflicts.StillReads(execution))
        {
            await execution.EndAsync(async).ConfigureAwait(false);
        }

        return reads is null ? result : new TrackingDataReader(result, reads);
    }

    /// <summary>
    /// The begin phase, when the command takes part in a Khonsu transaction (else it is measured
    /// only); what EF still read of the last statement is settled first.
    /// </summary>
    private async ValueTask<StatementExecution?> BeginAsync(DbCommand command, CommandEventData eventData, bool mayBeginImplicit, bool async, CancellationToken cancellationToken)
    {
        StatementExecution? execution = null;
        StatementScope? telemetry = null;
        try
        {
            execution = await binding.BeginAsync(command, mayBeginImplicit, recordsWriteReads: eventData.CommandSource != CommandSource.SaveChanges, async, cancellationToken).ConfigureAwait(false);
            telemetry = execution is null ? StatementTelemetry.Start(binding.Backend, command.Connection!, command.CommandText) : null;
            await _conflicts.SettleAsync(execution, async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            await EndAsync(new Running(execution, telemetry), error, async).ConfigureAwait(false);
            throw;
        }

        lock (_running)
        {
            _running[command] = new Running(execution, telemetry);
        }

        return execution;
    }

    /// <summary>
    /// A write under a conflict policy, or on the Replace branch, runs here through the pipeline's
    /// execute phase, and EF gets its result; any other statement EF runs itself.
    /// </summary>
    private async ValueTask<InterceptionResult<T>> RunUnderPolicyAsync<T>(
        StatementExecution? execution,
        InterceptionResult<T> result,
        Func<DbCommand, CancellationToken, Task<T>> execute,
        Func<DbCommand, CancellationToken, Task<T>> dropped,
        bool resultOpen,
        CancellationToken cancellationToken)
    {
        if (execution is null || result.HasResult)
        {
            return result;
        }

        var (ran, value) = await _conflicts.RunAsync(execution, execute, dropped, resultOpen, cancellationToken).ConfigureAwait(false);
        return ran ? InterceptionResult<T>.SuppressWithResult(value) : result;
    }

    /// <summary>
    /// The complete phase of a command that changed <paramref name="recordsAffected"/> rows (null:
    /// unknown): what it filtered on, the catalog after DDL, then its implicit transaction commits.
    /// A conflict there fails the command with Khonsu's transient 40001, which the context's
    /// execution strategy may retry.
    /// </summary>
    private static async ValueTask CompleteAsync(Running? running, int? recordsAffected, bool async, CancellationToken cancellationToken)
    {
        if (running?.Execution is not { } execution)
        {
            running?.Telemetry?.End();
            return;
        }

        Exception? failure = null;
        try
        {
            execution.Ran();
            await execution.CompleteAsync(recordsAffected, cancellationToken).ConfigureAwait(false);
            await execution.CommitImplicitAsync(async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            failure = error;
            execution.Transaction?.Retry.FailedTransiently(error);
            throw;
        }
        finally
        {
            await execution.EndAsync(async, failure).ConfigureAwait(false);
        }
    }

    /// <summary>The command failed or was cancelled: the end phase rolls back an implicit transaction it began.</summary>
    private static async ValueTask EndAsync(Running? running, Exception error, bool async)
    {
        running?.Telemetry?.End(error);
        if (running?.Execution is { } execution)
        {
            execution.Transaction?.Retry.FailedTransiently(error);
            await execution.EndAsync(async, error).ConfigureAwait(false);
        }
    }

    private Running? Take(DbCommand command)
    {
        lock (_running)
        {
            _running.Remove(command, out var running);
            return running;
        }
    }

    /// <summary>A command between EF's hooks: its run through the pipeline, or, outside any Khonsu transaction, only its measurement.</summary>
    private sealed record Running(StatementExecution? Execution, StatementScope? Telemetry);
}
