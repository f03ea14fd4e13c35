using System.Data.Common;
using Khonsu.Data.Execution;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// EF's statements that Khonsu must run itself: a write under a table's conflict policy
/// (<c>Conflict.&lt;table&gt;</c> or a handler), which runs inside the policy's savepoint so that a
/// write-write conflict PostgreSQL reports on it is resolved as for Khonsu's own commands (see
/// <see cref="StatementExecution.ExecuteAsync"/>), and a write to a table replaced on the
/// participant's branch, which runs there. Ignore hands EF an empty result (EF's own concurrency
/// exception for SaveChanges: the row did not change). A reader EF still reads keeps its savepoint
/// and its command until EF's next statement.
/// </summary>
internal sealed class WriteConflictResolution
{
    private StatementExecution? _stillRead;
    private readonly List<DbCommand> _emptyResults = [];

    /// <summary>
    /// Runs the statement through the pipeline's execute phase when a policy applies or it goes to
    /// the branch, and returns true with its result; false otherwise (EF runs it as usual).
    /// <paramref name="dropped"/> gives what EF gets for a statement Ignore drops.
    /// <paramref name="resultOpen"/>: the result is a reader EF still reads.
    /// </summary>
    public async ValueTask<(bool Ran, T Result)> RunAsync<T>(
        StatementExecution execution,
        Func<DbCommand, CancellationToken, Task<T>> execute,
        Func<DbCommand, CancellationToken, Task<T>> dropped,
        bool resultOpen,
        CancellationToken cancellationToken)
    {
        if (!execution.RunsUnderPolicy)
        {
            return (false, default!);
        }

        var result = await execution.ExecuteAsync(execute, default!, cancellationToken).ConfigureAwait(false);
        if (execution.Dropped)
        {
            result = await dropped(execution.Command, cancellationToken).ConfigureAwait(false);
        }

        if (resultOpen)
        {
            _stillRead = execution;
        }

        return (true, result);
    }

    /// <summary>
    /// Before the next statement (EF has closed the last reader by then): the last reader's
    /// savepoint goes, if its transaction is still the one in progress, and what produced it ends.
    /// </summary>
    public async ValueTask SettleAsync(StatementExecution? next, bool async, CancellationToken cancellationToken)
    {
        var last = _stillRead;
        _stillRead = null;
        if (last is not null)
        {
            if (next is not null && ReferenceEquals(last.Local, next.Local))
            {
                await last.ReleaseGuardAsync(cancellationToken).ConfigureAwait(false);
            }

            await last.EndAsync(async).ConfigureAwait(false);
        }

        foreach (var command in _emptyResults)
        {
            await SyncOrAsync.DisposeAsync(command, async).ConfigureAwait(false);
        }

        _emptyResults.Clear();
    }

    /// <summary>Whether EF still reads the result of <paramref name="execution"/> (it ends at the next statement).</summary>
    public bool StillReads(StatementExecution execution) => ReferenceEquals(_stillRead, execution);

    /// <summary>A query on the statement's connection and transaction that returns no row: what EF reads for a dropped statement.</summary>
    public DbCommand EmptyResultCommand(DbCommand command)
    {
        var empty = command.Connection!.CreateCommand();
        _emptyResults.Add(empty);
        empty.CommandText = "SELECT NULL WHERE false";
        empty.CommandTimeout = command.CommandTimeout;
        empty.Transaction = command.Transaction;
        return empty;
    }
}
