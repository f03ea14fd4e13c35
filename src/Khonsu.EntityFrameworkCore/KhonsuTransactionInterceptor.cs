using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// Refuses EF's own transactions on a Khonsu backend: a provider transaction begun behind Khonsu's
/// back would commit one backend alone, or (on PostgreSQL) commit Khonsu's local transaction early.
/// </summary>
internal sealed class KhonsuTransactionInterceptor : DbTransactionInterceptor
{
    private const string Message =
        "A DbContext on a Khonsu backend cannot begin its own transaction: begin it on the KhonsuConnection " +
        "(BeginTransactionAsync); the context's queries and SaveChanges join it, across every backend.";

    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
        => throw new InvalidOperationException(Message);

    public override ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(
        DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        => throw new InvalidOperationException(Message);

    public override DbTransaction TransactionUsed(DbConnection connection, TransactionEventData eventData, DbTransaction result)
        => throw new InvalidOperationException(Message);

    public override ValueTask<DbTransaction> TransactionUsedAsync(DbConnection connection, TransactionEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
        => throw new InvalidOperationException(Message);
}
