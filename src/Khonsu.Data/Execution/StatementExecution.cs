using System.Data;
using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Data.Diagnostics;
using Khonsu.Data.Prefetch;
using Khonsu.Data.Routing;

namespace Khonsu.Data.Execution;

/// <summary>
/// One execution of one statement, whichever API sent it (see <see cref="IKhonsuStatement"/>), in
/// four phases that every caller goes through in this order:
/// <list type="number">
/// <item><b>Begin</b> (<see cref="BeginAsync"/>): route it, begin an implicit transaction when it
/// writes with none in progress, enlist its backend in the transaction, ask the database's parser
/// what it reads, and let the participant prepare for it (a SQLite write lock, a lock timeout).</item>
/// <item><b>Execute</b> (<see cref="ExecuteAsync"/>): run it, under its table's write-conflict
/// policy when one applies (a conflict the database reports is undone and dropped, run again on
/// the participant's branch, or run again with new keys).</item>
/// <item><b>Complete</b> (<see cref="Ran"/>, <see cref="CompleteAsync"/>): record what it read and
/// filtered on, copy output parameters back, refresh the catalog after DDL; then commit its
/// implicit transaction (<see cref="CommitImplicitAsync"/>).</item>
/// <item><b>End</b> (<see cref="EndAsync"/>): whatever happened, measure it, dispose what it
/// created, and roll back an implicit transaction it did not commit.</item>
/// </list>
/// A reader completes and ends when it is closed.
/// </summary>
internal sealed class StatementExecution
{
    private readonly IKhonsuStatement _statement;
    private readonly DbConnection _innerConnection;
    private readonly List<DbCommand> _created = [];
    private WriteConflictGuard? _guard;
    private KhonsuParameterCollection? _servableWith;
    private bool _ended;

    private StatementExecution(IKhonsuStatement statement, KhonsuTransaction? transaction, RouteDecision route, DbConnection innerConnection, StatementScope telemetry, KhonsuTransaction? implicitTransaction)
    {
        _statement = statement;
        _innerConnection = innerConnection;
        Transaction = transaction;
        Route = route;
        Telemetry = telemetry;
        Implicit = implicitTransaction;
        Capture = transaction?.Prefetch is null || statement.GivenCommand is not null ? null : new ResultCapture();
    }

    public KhonsuConnection Connection => _statement.Connection;

    /// <summary>The transaction it runs in (null: outside any, straight on its backend).</summary>
    public KhonsuTransaction? Transaction { get; }

    /// <summary>The transaction it began for itself, committed when it completes; null when it runs in the caller's or none.</summary>
    public KhonsuTransaction? Implicit { get; }

    public RouteDecision Route { get; private set; }

    /// <summary>Its backend's local transaction (null outside a transaction).</summary>
    public BackendTransaction? Local { get; private set; }

    /// <summary>The inner command that runs it: the caller's, one the pipeline created, or the branch's after a Replace.</summary>
    public DbCommand Command { get; private set; } = null!;

    /// <summary>
    /// It runs on its participant's Replace branch, at READ COMMITTED: what it reads there is the
    /// newest rows, not the transaction's snapshot, so its rows are not tracked as snapshot reads
    /// (validating them against the snapshot would fail on the branch's own writes).
    /// </summary>
    public bool OnBranch { get; private set; }

    /// <summary>The Ignore policy dropped it: it read and wrote nothing.</summary>
    public bool Dropped { get; private set; }

    /// <summary>The first rows the application read of the statement's result, for the prefetch model; null when prefetching is off.</summary>
    public ResultCapture? Capture { get; }

    /// <summary>The held result of a prefetch that served the statement instead of the database (see <see cref="TakePrefetched"/>).</summary>
    public HeldResult? Served { get; private set; }

    /// <summary>The statement's span and latency measurement, ended when it ends.</summary>
    public StatementScope Telemetry { get; }

    /// <summary>Whether a write-conflict guard's savepoint is still set (see <see cref="ReleaseGuardAsync"/>).</summary>
    public bool Guarded => _guard is not null;

    /// <summary>
    /// Whether the execute phase must run the statement itself: it goes to its participant's branch,
    /// or a write-conflict policy applies to it. A caller that runs its own statements (EF Core)
    /// hands them to <see cref="ExecuteAsync"/> then.
    /// </summary>
    public bool RunsUnderPolicy => OnBranch || (Local is not null && WriteConflictGuard.Applies(Connection, Transaction, Route, Local));

    /// <summary>The begin phase (see the class summary).</summary>
    /// <param name="statement">What runs.</param>
    /// <param name="async">False for a synchronous caller: the inner connection opens with the provider's synchronous methods (see <see cref="SyncOrAsync"/>).</param>
    /// <param name="cancellationToken">Honoured until the statement runs.</param>
    /// <param name="servableWith">The parameters of a statement whose result the caller reads (a reader, a scalar): a prefetch held for it with exactly these serves it (<see cref="Served"/>). Null: it always runs.</param>
    public static async ValueTask<StatementExecution> BeginAsync(IKhonsuStatement statement, bool async, CancellationToken cancellationToken, KhonsuParameterCollection? servableWith = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = statement.Connection;
        var runtime = connection.Runtime;
        var transaction = ResolveTransaction(statement);
        var route = statement.Route();
        if (transaction is { IsReadOnly: true } && route.Writes)
        {
            throw KhonsuException.ReadOnlyViolation(
                $"Transaction {transaction.TransactionId} is read-only: cannot execute {StatementTelemetry.OperationName(statement.CommandText) ?? "a write"} on backend '{route.Backend.Name}'.",
                transaction.Id);
        }

        if (transaction?.Prefetch is { } prefetch)
        {
            // The backend's connection must be free of prefetches, and held results it could change go.
            var mayWrite = route.Writes || route.ChangesSchema || route.ControlsTransaction || !PrefetchableText.IsPlainRead(statement.CommandText);
            await prefetch.BeforeStatementAsync(route.Backend, mayWrite, async).ConfigureAwait(false);
        }

        var innerConnection = await connection.GetInnerConnectionAsync(route.Backend, async, cancellationToken).ConfigureAwait(false);
        if (statement.GivenCommand is { } given && !ReferenceEquals(given.Connection, innerConnection))
        {
            throw new InvalidOperationException(
                $"This command runs on another connection than the Khonsu connection's '{route.Backend.Name}' backend: build it with the connection from GetBackendConnectionAsync.");
        }

        var implicitTransaction = transaction is null && statement.MayBeginImplicit && route.RunsAsImplicitTransaction && runtime.Settings.Autocommit == AutocommitMode.Transaction
            ? connection.BeginImplicitTransaction()
            : null;
        var execution = new StatementExecution(statement, transaction ?? implicitTransaction, route, innerConnection, StatementTelemetry.Start(route.Backend, innerConnection, statement.CommandText), implicitTransaction)
        {
            _servableWith = servableWith,
        };
        try
        {
            await execution.EnlistAsync(async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            await execution.EndAsync(async, error).ConfigureAwait(false);
            throw;
        }

        return execution;
    }

    /// <summary>
    /// The execute phase: runs <paramref name="execute"/> on <see cref="Command"/>, under the
    /// statement's write-conflict guard when a policy applies. A conflict the database reports
    /// goes to the policy, which drops the statement (Ignore: <see cref="Dropped"/>, and
    /// <paramref name="dropped"/> is the result), runs it again on the participant's branch
    /// (Replace: <see cref="Command"/> is the branch's then), or runs it again with new keys for the
    /// rows whose key a concurrent insert took (Append). Fail, or no policy, rethrows.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(Func<DbCommand, CancellationToken, Task<T>> execute, T dropped, CancellationToken cancellationToken)
    {
        _guard = OnBranch || Local is null ? null : await WriteConflictGuard.BeginAsync(Connection, Transaction, Route, Local, cancellationToken).ConfigureAwait(false);
        try
        {
            return await execute(Command, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException error) when (_guard is not null && _guard.Covers(error))
        {
            switch (await _guard.ResolveAsync(error, _statement.CommandText, cancellationToken).ConfigureAwait(false))
            {
                case KhonsuConflictPolicy.Ignore:
                    _guard = null; // resolving the conflict released its savepoint
                    Dropped = true;
                    StatementRan();
                    return dropped;
                case KhonsuConflictPolicy.Replace:
                    _guard = null;
                    if (!await MoveToBranchAsync(cancellationToken).ConfigureAwait(false))
                    {
                        throw;
                    }

                    return await execute(Command, cancellationToken).ConfigureAwait(false);
                case KhonsuConflictPolicy.Append:
                    // Again, with new keys for the rows whose key the snapshot cannot see.
                    return await execute(Command, cancellationToken).ConfigureAwait(false);
                default:
                    throw;
            }
        }
    }

    /// <summary>
    /// The statement has run on its backend (its snapshot there is taken). What a write filtered on
    /// is recorded now; for a point write, only once it has completed (<see cref="CompleteAsync"/>)
    /// tells whether it found every key.
    /// </summary>
    public void Ran()
    {
        StatementRan();
        if (Route.PointKeys is null && _statement.RecordsWriteReads)
        {
            Transaction?.Reads.RecordWriteReads(Route, null);
        }
    }

    /// <summary>
    /// The complete phase, once the statement finished having changed <paramref name="recordsAffected"/>
    /// rows (null: unknown): the guard's savepoint goes (unless <paramref name="keepGuard"/>, for a
    /// caller that still reads the result), a point write's reads, output parameters back, and the
    /// catalog refreshed after DDL.
    /// </summary>
    public async ValueTask CompleteAsync(int? recordsAffected, CancellationToken cancellationToken, bool keepGuard = false)
    {
        if (!keepGuard)
        {
            await ReleaseGuardAsync(cancellationToken).ConfigureAwait(false);
        }

        if (Route.PointKeys is not null && _statement.RecordsWriteReads)
        {
            Transaction?.Reads.RecordWriteReads(Route, recordsAffected);
        }

        _statement.CopyParametersFrom(Command);
        if (Route.ChangesSchema)
        {
            await Connection.Runtime.OnSchemaChangedAsync(Route.Backend, _innerConnection, Local, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The write-conflict guard's savepoint goes, and new keys with it if Append turned them on.</summary>
    public async ValueTask ReleaseGuardAsync(CancellationToken cancellationToken)
    {
        var guard = _guard;
        _guard = null;
        if (guard is not null)
        {
            await guard.ReleaseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Commits the statement's implicit transaction, if it began one that has not completed (the connection closed first).</summary>
    /// <param name="async">False for a synchronous statement: the commit does synchronous I/O too.</param>
    /// <param name="cancellationToken">Honoured until the decision.</param>
    public Task CommitImplicitAsync(bool async, CancellationToken cancellationToken)
        => Implicit is { IsCompleted: false } begun ? begun.Completion.CommitAsync(async, cancellationToken) : Task.CompletedTask;

    /// <summary>What the transaction reads through the statement's reader; null outside a transaction, on a branch, or when dropped.</summary>
    /// <remarks>A served prefetch's rows are tracked by the tracker learned from its live result.</remarks>
    public ReaderReads? NewReaderReads()
        => Local is null || Transaction is null || OnBranch || Dropped
            ? null
            : new ReaderReads(Transaction, Local, Route, _statement.CommandText, Served is { } served ? _ => served.Tracker : null);

    /// <summary>A reader over the held result that serves the statement (see <see cref="Served"/>), or null: the statement runs.</summary>
    public System.Data.Common.DbDataReader? OpenServed() => Served?.Open();

    /// <summary>
    /// Takes the held result of a prefetch of exactly this read (same text, same parameters), if
    /// any: the statement is then served, and nothing runs on its backend. Only for a read whose
    /// result the caller reads, of its own command (not EF Core's), in a transaction that prefetches.
    /// </summary>
    private void TakePrefetched()
    {
        if (Transaction?.Prefetch is { } prefetch && _servableWith is { } parameters && Capture is not null && !OnBranch && !Route.Writes)
        {
            Served = prefetch.TryTake(Route.Backend, _statement.CommandText, parameters);
        }
    }

    /// <summary>The statement completed: the prefetch model learns from it and sends the reads it predicts (see <see cref="TransactionPrefetch.StatementCompletedAsync"/>).</summary>
    public ValueTask ObservedAsync(KhonsuParameterCollection parameters, bool async, CancellationToken cancellationToken)
        => Transaction?.Prefetch is { } prefetch && Capture is not null && !Dropped && !OnBranch && !Transaction.IsCompleted
            ? prefetch.StatementCompletedAsync(Route, _statement.CommandText, parameters, Capture.Rows, async, cancellationToken)
            : ValueTask.CompletedTask;

    /// <summary>The statement's error as the caller should see it (see <see cref="BackendTransaction.AsSerializationFailure"/>).</summary>
    public Exception Translate(DbException error) => Local?.AsSerializationFailure(error) ?? (Exception)error;

    /// <summary>
    /// The end phase, whichever way the statement ended: measured (with <paramref name="error"/> if
    /// it failed), the commands it created disposed, and an implicit transaction it began and did
    /// not commit rolled back (its error, on its way to the caller, says more than a rollback would).
    /// </summary>
    public async ValueTask EndAsync(bool async, Exception? error = null)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        Transaction?.Retry.StatementEnded();
        Telemetry.End(error);
        foreach (var command in _created)
        {
            await SyncOrAsync.DisposeAsync(command, async).ConfigureAwait(false);
        }

        if (Implicit is not null)
        {
            await Implicit.Completion.RollBackQuietlyAsync(async).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Enlists the statement's backend in its transaction, then sets its command up: on the branch
    /// when its tables were replaced there (later writes to them go there too, or they would wait on
    /// the branch's row locks), else the caller's or a new one; then the database's parser says what
    /// it reads, and the participant prepares for it.
    /// </summary>
    private async ValueTask EnlistAsync(bool async, CancellationToken cancellationToken)
    {
        if (Transaction is not null)
        {
            Local = await Transaction.Enlistment.EnlistAsync(Route.Backend, _innerConnection, cancellationToken).ConfigureAwait(false);
            Transaction.Operation.Add(Route.Backend.Name, _statement.CommandText);
        }

        var onBranch = Transaction is not null && Transaction.Branches.WritesOnBranch(Route);
        if (!onBranch || !await MoveToBranchAsync(cancellationToken).ConfigureAwait(false))
        {
            Command = _statement.GivenCommand ?? NewCommand(_innerConnection.CreateCommand());
            Command.Transaction = Local?.InnerTransaction;
        }

        if (Local is not null && Transaction!.IsolationLevel == IsolationLevel.Serializable && !OnBranch)
        {
            // Only a serializable transaction's reads go to the certifier.
            Route = await Connection.Runtime.Router.WithParsedReadsAsync(Route, Local, Command, cancellationToken).ConfigureAwait(false);
            Route = Route.ForExecution(Command.Parameters);
        }

        TakePrefetched();
        if (Local is not null && Served is null)
        {
            // A served statement sends nothing: the participant has nothing to prepare for.
            Local.RanWrites |= Route.Writes && !OnBranch;
            Local.WroteFollowedTable |= MayWriteFollowedTable(Route, Local.Backend.Options);
            await Local.BeforeStatementAsync(Command, Transaction!.Participants.Count > 1, async, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether the statement may write a table a mirror follows: it writes and names one, or names
    /// something that is not a known table (a view, a function) whose writes Khonsu cannot see.
    /// </summary>
    private static bool MayWriteFollowedTable(RouteDecision route, KhonsuBackendOptions options)
        => route.Writes && options.FollowedTables.Count > 0 && (route.ReadsUnknownRelations || route.Tables.Any(options.Follows));

    /// <summary>
    /// The statement ran: it waits on nothing any more, and if it was the first on its backend, the
    /// transaction's snapshot there is taken (see <see cref="Transactions.TransactionSnapshots.StatementRan"/>).
    /// </summary>
    private void StatementRan()
    {
        Transaction?.Retry.StatementEnded();
        Transaction?.Snapshots.StatementRan();
    }

    /// <summary>The statement moves to its participant's branch; false where the backend has none.</summary>
    private async ValueTask<bool> MoveToBranchAsync(CancellationToken cancellationToken)
    {
        if (Local is null || await Local.CreateBranchCommandAsync(cancellationToken).ConfigureAwait(false) is not { } branch)
        {
            return false;
        }

        Command = NewCommand(branch);
        OnBranch = true;
        return true;
    }

    private DbCommand NewCommand(DbCommand command)
    {
        _created.Add(command);
        command.CommandText = _statement.CommandText;
        command.CommandType = _statement.CommandType;
        command.CommandTimeout = _statement.CommandTimeout;
        _statement.CopyParametersTo(command);
        return command;
    }

    private static KhonsuTransaction? ResolveTransaction(IKhonsuStatement statement)
    {
        var current = statement.Connection.CurrentTransaction;
        if (statement.Transaction is not { } given)
        {
            // As Npgsql does: a command on a connection with a transaction in progress runs in it.
            return current;
        }

        if (given.IsCompleted || given != current)
        {
            throw new InvalidOperationException("The command's transaction has completed or belongs to another connection.");
        }

        return given;
    }
}
