using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// Keeps EF from beginning provider transactions of its own (they would escape Khonsu), and gives
/// a SaveChanges made outside any Khonsu transaction a Khonsu transaction of its own, committed
/// inside the context's execution strategy so that a conflict at commit is retried like any other
/// transient failure: SaveChanges(acceptAllChangesOnSuccess: false), commit, then AcceptAllChanges.
/// </summary>
internal sealed class KhonsuSaveChangesInterceptor(KhonsuBackendBinding binding) : SaveChangesInterceptor
{
    /// <summary>The context whose SaveChanges this interceptor is running itself, inside its own transaction.</summary>
    private static readonly AsyncLocal<DbContext?> Inner = new();

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        var context = Prepare(eventData);
        if (context is null || result.HasResult || binding.Transaction is not null || Inner.Value == context)
        {
            return result;
        }

        var saved = context.Database.CreateExecutionStrategy().Execute(
            context,
            c =>
            {
                using var transaction = binding.Connection.BeginTransaction();
                var previous = Inner.Value;
                Inner.Value = c;
                try
                {
                    var count = c.SaveChanges(acceptAllChangesOnSuccess: false);
                    transaction.Commit();
                    return count;
                }
                finally
                {
                    Inner.Value = previous;
                }
            });
        context.ChangeTracker.AcceptAllChanges();
        return InterceptionResult<int>.SuppressWithResult(saved);
    }

    public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        var context = Prepare(eventData);
        if (context is null || result.HasResult || binding.Transaction is not null || Inner.Value == context)
        {
            return result;
        }

        var saved = await context.Database.CreateExecutionStrategy().ExecuteAsync(
            context,
            async (c, token) =>
            {
                var transaction = await binding.Connection.BeginTransactionAsync(token).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var previous = Inner.Value;
                    Inner.Value = c;
                    try
                    {
                        var count = await c.SaveChangesAsync(acceptAllChangesOnSuccess: false, token).ConfigureAwait(false);
                        await transaction.CommitAsync(token).ConfigureAwait(false);
                        return count;
                    }
                    finally
                    {
                        Inner.Value = previous;
                    }
                }
            },
            cancellationToken).ConfigureAwait(false);
        context.ChangeTracker.AcceptAllChanges();
        return InterceptionResult<int>.SuppressWithResult(saved);
    }

    private static DbContext? Prepare(DbContextEventData eventData)
    {
        if (eventData.Context is { } context)
        {
            // The Khonsu transaction is the transaction: EF must not begin a provider transaction for a batch.
            context.Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
        }

        return eventData.Context;
    }
}
