using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// <c>context.Database.BeginTransaction()</c> on a Khonsu backend begins, or joins, the Khonsu
/// transaction of the context's KhonsuConnection instead of a provider transaction, which would
/// commit one backend alone behind Khonsu's back: EF gets a <see cref="ContextTransaction"/>, and
/// <see cref="KhonsuRelationalTransactionFactory"/> wraps it. <c>UseTransaction</c> with a provider
/// transaction is refused for the same reason.
/// </summary>
internal sealed class KhonsuTransactionInterceptor(KhonsuBackendBinding binding) : DbTransactionInterceptor
{
    private const string UseTransactionRefused =
        "A DbContext on a Khonsu backend cannot use a provider transaction: call context.Database.BeginTransaction(), " +
        "which begins or joins the Khonsu transaction shared by every context on the same KhonsuConnection, across every backend.";

    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
        => InterceptionResult<DbTransaction>.SuppressWithResult(ContextTransaction.BeginOrJoin(binding, connection, eventData.IsolationLevel));

    public override ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(
        DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(TransactionStarting(connection, eventData, result));
    }

    public override DbTransaction TransactionUsed(DbConnection connection, TransactionEventData eventData, DbTransaction result)
        => throw new InvalidOperationException(UseTransactionRefused);

    public override ValueTask<DbTransaction> TransactionUsedAsync(DbConnection connection, TransactionEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
        => throw new InvalidOperationException(UseTransactionRefused);
}
