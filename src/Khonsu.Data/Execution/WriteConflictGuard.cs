using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;
using Khonsu.Engine.Diagnostics;

namespace Khonsu.Data.Execution;

/// <summary>
/// A write statement whose write-write conflict a policy may resolve: it runs inside a savepoint
/// on its participant, so that a conflict the database reports on the statement can be undone
/// alone (Ignore), undone and run again on the participant's last-writer-wins branch (Replace), or
/// undone and run again with new keys for the rows whose key a concurrent insert took (Append),
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
    private bool _generatingKeys;

    private WriteConflictGuard(KhonsuTransaction transaction, BackendTransaction local, RouteDecision route, KhonsuConflictPolicy configured, Func<KhonsuWriteConflict, KhonsuConflictPolicy>? handler)
    {
        _transaction = transaction;
        _local = local;
        _route = route;
        _configured = configured;
        _handler = handler;
    }

    /// <summary>Whether the statement needs a guard: it writes, on a backend that reports conflicts per statement, under a policy or a handler.</summary>
    public static bool Applies(KhonsuConnection connection, KhonsuTransaction? transaction, RouteDecision route, BackendTransaction? local)
        => transaction is not null && local is not null && route.Writes && route.Backend.ResolvesWriteConflicts && !transaction.Branches.WritesOnBranch(route)
            && (connection.Runtime.ConflictPolicies.PolicyOf(route) != KhonsuConflictPolicy.Fail || connection.ConflictHandler is not null);

    /// <summary>Sets the savepoint when the statement needs a guard (see <see cref="Applies"/>); else null.</summary>
    public static async ValueTask<WriteConflictGuard?> BeginAsync(
        KhonsuConnection connection, KhonsuTransaction? transaction, RouteDecision route, BackendTransaction? local, CancellationToken cancellationToken)
    {
        if (!Applies(connection, transaction, route, local))
        {
            return null;
        }

        await local!.SaveAsync(Savepoint, async: true, cancellationToken).ConfigureAwait(false);
        return new WriteConflictGuard(transaction!, local, route, connection.Runtime.ConflictPolicies.PolicyOf(route), connection.ConflictHandler);
    }

    /// <summary>
    /// Whether the statement's error is a conflict this guard may resolve: a write-write conflict,
    /// or, under Append, an insert whose generated key a concurrent insert took.
    /// </summary>
    public bool Covers(DbException error)
        => _local.IsWriteConflict(error) || (_configured == KhonsuConflictPolicy.Append && _local.IsDuplicateGeneratedKey(error));

    /// <summary>The statement succeeded: its savepoint goes, and new keys, if Append turned them on.</summary>
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken)
    {
        await _local.ReleaseAsync(Savepoint, async: true, cancellationToken).ConfigureAwait(false);
        if (_generatingKeys)
        {
            _generatingKeys = false;
            await _local.GenerateKeysAsync(false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Chooses the policy for the conflict. For Ignore and Replace the statement's work is undone
    /// (back to the savepoint, which goes); for Append it is undone back to the savepoint, which
    /// stays until <see cref="ReleaseAsync"/>, and the caller runs the statement again with new
    /// keys on; for Fail the transaction is left as the database left it, aborted, and the caller
    /// reports the conflict as today.
    /// </summary>
    public async ValueTask<KhonsuConflictPolicy> ResolveAsync(DbException error, string sql, CancellationToken cancellationToken)
    {
        var policy = _local.IsDuplicateGeneratedKey(error) ? KhonsuConflictPolicy.Append : Choose(error, sql);
        if (policy == KhonsuConflictPolicy.Fail)
        {
            return policy;
        }

        await _local.RollbackToAsync(Savepoint, async: true, cancellationToken).ConfigureAwait(false);
        if (policy == KhonsuConflictPolicy.Append)
        {
            await _local.GenerateKeysAsync(true, cancellationToken).ConfigureAwait(false);
            _generatingKeys = true;
        }
        else
        {
            await _local.ReleaseAsync(Savepoint, async: true, cancellationToken).ConfigureAwait(false);
        }

        if (policy == KhonsuConflictPolicy.Replace)
        {
            _transaction.Branches.Add(_route);
        }

        KhonsuTelemetry.ConflictsResolved.Add(1, new("khonsu.policy", policy.ToString().ToLowerInvariant()), new("khonsu.backend", _route.Backend.Name));
        return policy;
    }

    /// <summary>
    /// The policy for a write-write conflict on an update, delete or lock: the handler's choice, or
    /// the table's. Append has no second row to keep there (both transactions changed the same
    /// row): configured, it fails as Fail does; chosen by the handler, it is an error.
    /// </summary>
    private KhonsuConflictPolicy Choose(DbException error, string sql)
    {
        if (_handler is null)
        {
            return _configured == KhonsuConflictPolicy.Append ? KhonsuConflictPolicy.Fail : _configured;
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
            KhonsuConflictPolicy.Append => throw new KhonsuException(
                $"Transaction {_transaction.TransactionId}, backend '{_route.Backend.Name}': the write-conflict handler chose Append for a conflict on a row both transactions changed; " +
                "Append keeps both rows only of inserts that took the same generated key (use Fail, Ignore or Replace here). The statement failed and the transaction must be rolled back.",
                error),
            _ => throw new KhonsuException(
                $"Transaction {_transaction.TransactionId}, backend '{_route.Backend.Name}': the write-conflict handler chose {chosen}, which is no policy (use Fail, Ignore or Replace); the statement failed and the transaction must be rolled back.",
                error),
        };
    }
}
