using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Data.Routing;
using Khonsu.Engine.Diagnostics;

namespace Khonsu.Data;

/// <summary>
/// A write statement whose write-write conflict a policy may resolve: it runs inside a savepoint
/// on its participant, so that a conflict the database reports on the statement can be undone
/// alone (Ignore), or undone and run again on the participant's last-writer-wins branch (Replace),
/// while the transaction goes on. Statements with nothing to resolve pay no savepoint.
/// </summary>
internal sealed class WriteConflictGuard
{
    private const string Savepoint = "khonsu_write_conflict";

    private readonly KhonsuTransaction _transaction;
    private readonly BackendTransaction _local;
    private readonly RouteDecision _route;
    private readonly KhonsuConflictPolicy _configured;
    private readonly Func<KhonsuWriteConflict, KhonsuConflictPolicy>? _handler;

    private WriteConflictGuard(KhonsuTransaction transaction, BackendTransaction local, RouteDecision route, KhonsuConflictPolicy configured, Func<KhonsuWriteConflict, KhonsuConflictPolicy>? handler)
    {
        _transaction = transaction;
        _local = local;
        _route = route;
        _configured = configured;
        _handler = handler;
    }

    /// <summary>Sets the savepoint when the statement writes, on a backend that reports conflicts per statement, under a policy or a handler; else null.</summary>
    public static async ValueTask<WriteConflictGuard?> BeginAsync(
        KhonsuConnection connection, KhonsuTransaction? transaction, RouteDecision route, BackendTransaction? local, CancellationToken cancellationToken)
    {
        if (transaction is null || local is null || !route.Writes || !route.Backend.ResolvesWriteConflicts || transaction.WritesOnBranch(route))
        {
            return null;
        }

        var configured = connection.Runtime.ConflictPolicies.PolicyOf(route);
        var handler = ConflictHandlers.For(connection.ConnectionString);
        if (configured == KhonsuConflictPolicy.Fail && handler is null)
        {
            return null;
        }

        await local.SaveAsync(Savepoint, cancellationToken).ConfigureAwait(false);
        return new WriteConflictGuard(transaction, local, route, configured, handler);
    }

    /// <summary>Whether the statement's error is a write-write conflict this guard may resolve.</summary>
    public bool Covers(DbException error) => _local.IsWriteConflict(error);

    /// <summary>The statement succeeded: its savepoint goes.</summary>
    public ValueTask ReleaseAsync(CancellationToken cancellationToken) => _local.ReleaseAsync(Savepoint, cancellationToken);

    /// <summary>
    /// Chooses the policy for the conflict. For Ignore and Replace the statement's work is undone
    /// (back to the savepoint, which goes); for Fail the transaction is left as the database left
    /// it, aborted, and the caller reports the conflict as today.
    /// </summary>
    public async ValueTask<KhonsuConflictPolicy> ResolveAsync(DbException error, string sql, CancellationToken cancellationToken)
    {
        var policy = Choose(error, sql);
        if (policy == KhonsuConflictPolicy.Fail)
        {
            return policy;
        }

        await _local.RollbackToAsync(Savepoint, cancellationToken).ConfigureAwait(false);
        await _local.ReleaseAsync(Savepoint, cancellationToken).ConfigureAwait(false);
        if (policy == KhonsuConflictPolicy.Replace)
        {
            _transaction.Branched(_route);
        }

        KhonsuTelemetry.ConflictsResolved.Add(1, new("khonsu.policy", policy == KhonsuConflictPolicy.Ignore ? "ignore" : "replace"), new("khonsu.backend", _route.Backend.Name));
        return policy;
    }

    private KhonsuConflictPolicy Choose(DbException error, string sql)
    {
        if (_handler is null)
        {
            return _configured;
        }

        KhonsuConflictPolicy chosen;
        try
        {
            chosen = _handler(new KhonsuWriteConflict(_transaction.TransactionId, _route.Backend.Name, _route.Tables.FirstOrDefault(), null, null, sql, _configured));
        }
        catch (Exception handlerError)
        {
            throw new KhonsuException(
                $"Transaction {_transaction.TransactionId}, backend '{_route.Backend.Name}': the write-conflict handler threw {handlerError.GetType().Name} on a conflict; the statement failed and the transaction must be rolled back.",
                handlerError);
        }

        return chosen switch
        {
            KhonsuConflictPolicy.Fail or KhonsuConflictPolicy.Ignore or KhonsuConflictPolicy.Replace => chosen,
            _ => throw new KhonsuException(
                $"Transaction {_transaction.TransactionId}, backend '{_route.Backend.Name}': the write-conflict handler chose {chosen}, which Khonsu does not support (use Fail, Ignore or Replace); the statement failed and the transaction must be rolled back.",
                error),
        };
    }
}
