using System.Data.Common;
using Khonsu.Data;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// EF's writes under a table's conflict policy (<c>Conflict.&lt;table&gt;</c> or a handler), run by
/// the interceptor itself inside the policy's savepoint, so that a write-write conflict PostgreSQL
/// reports on the statement is resolved as for Khonsu's own commands: Ignore hands EF an empty
/// result (EF's own concurrency exception for SaveChanges: the row did not change), Replace runs
/// the statement again on the participant's branch, Append runs an insert again with new keys.
/// Writes to a replaced table follow it there.
/// </summary>
internal sealed class WriteConflictResolution
{
    private WriteConflictGuard? _savepointInUse;
    private Enlistment? _savepointOf;
    private readonly List<DbCommand> _commandsInUse = [];

    /// <summary>
    /// Runs the statement under its guard, or on the branch, and returns true with its result; or
    /// false when no policy applies (EF runs it as usual). <paramref name="dropped"/> gives what EF gets
    /// for a statement Ignore drops. <paramref name="resultOpen"/>: the result is a reader EF still
    /// reads, so the savepoint goes before the next statement rather than now.
    /// </summary>
    public async ValueTask<(bool Ran, T Result)> RunAsync<T>(
        KhonsuConnection connection,
        DbCommand command,
        Enlistment enlistment,
        Func<DbCommand, CancellationToken, Task<T>> execute,
        Func<DbCommand, CancellationToken, Task<T>> dropped,
        bool resultOpen,
        CancellationToken cancellationToken)
    {
        if (enlistment.Transaction.WritesOnBranch(enlistment.Route))
        {
            return (true, await OnBranchAsync(command, enlistment, execute, cancellationToken).ConfigureAwait(false));
        }

        var guard = await WriteConflictGuard.BeginAsync(connection, enlistment.Transaction, enlistment.Route, enlistment.Local, cancellationToken).ConfigureAwait(false);
        if (guard is null)
        {
            return (false, default!);
        }

        T result;
        try
        {
            result = await execute(command, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException error) when (guard.Covers(error))
        {
            switch (await guard.ResolveAsync(error, command.CommandText, cancellationToken).ConfigureAwait(false))
            {
                case KhonsuConflictPolicy.Ignore:
                    enlistment.Transaction.StatementRan();
                    return (true, await dropped(command, cancellationToken).ConfigureAwait(false));
                case KhonsuConflictPolicy.Replace:
                    return (true, await OnBranchAsync(command, enlistment, execute, cancellationToken).ConfigureAwait(false));
                case KhonsuConflictPolicy.Append:
                    // Again, with new keys; EF reads them back from the statement's RETURNING.
                    result = await execute(command, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw;
            }
        }

        if (resultOpen)
        {
            (_savepointInUse, _savepointOf) = (guard, enlistment);
        }
        else
        {
            await guard.ReleaseAsync(cancellationToken).ConfigureAwait(false);
        }

        return (true, result);
    }

    /// <summary>
    /// Before the next statement (EF has closed the last reader by then): the last guard's
    /// savepoint goes, if its transaction is still the one in progress, and the commands that
    /// produced EF's last results are disposed.
    /// </summary>
    public async ValueTask SettleAsync(Enlistment? next, CancellationToken cancellationToken)
    {
        var (guard, of) = (_savepointInUse, _savepointOf);
        (_savepointInUse, _savepointOf) = (null, null);
        if (guard is not null && next is not null && ReferenceEquals(of!.Local, next.Local))
        {
            await guard.ReleaseAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var command in _commandsInUse)
        {
            await command.DisposeAsync().ConfigureAwait(false);
        }

        _commandsInUse.Clear();
    }

    private async Task<T> OnBranchAsync<T>(DbCommand command, Enlistment enlistment, Func<DbCommand, CancellationToken, Task<T>> execute, CancellationToken cancellationToken)
    {
        var branch = await enlistment.Local.CreateBranchCommandAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Backend '{enlistment.Route.Backend.Name}' has no branch to run a replaced write on.");
        _commandsInUse.Add(branch);
        branch.CommandText = command.CommandText;
        branch.CommandTimeout = command.CommandTimeout;
        foreach (DbParameter parameter in command.Parameters)
        {
            branch.Parameters.Add(parameter is ICloneable cloneable
                ? cloneable.Clone()
                : throw new InvalidOperationException($"Parameter '{parameter.ParameterName}' ({parameter.GetType().Name}) cannot be copied to the branch of backend '{enlistment.Route.Backend.Name}'."));
        }

        return await execute(branch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A query on the statement's connection and transaction that returns no row: what EF reads for a dropped statement.</summary>
    public DbCommand EmptyResultCommand(DbCommand command)
    {
        var empty = command.Connection!.CreateCommand();
        _commandsInUse.Add(empty);
        empty.CommandText = "SELECT NULL WHERE false";
        empty.CommandTimeout = command.CommandTimeout;
        empty.Transaction = command.Transaction;
        return empty;
    }
}
