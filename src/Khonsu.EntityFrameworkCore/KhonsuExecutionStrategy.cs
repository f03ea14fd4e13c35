using System.Data.Common;
using Khonsu.Data;
using Microsoft.EntityFrameworkCore.Storage;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// An EF Core execution strategy that retries what Khonsu and the backends call transient: a
/// <see cref="KhonsuException"/> with <see cref="DbException.IsTransient"/> (a serialization
/// conflict found at commit, SqlState 40001), and any other <see cref="DbException"/> that says it
/// is transient (PostgreSQL's 40001 and 40P01 through Npgsql). A commit whose outcome is unknown
/// (SqlState 08007) is not transient and is never retried. Register it with
/// <c>UseSqlite(connection, o =&gt; o.ExecutionStrategy(d =&gt; new KhonsuExecutionStrategy(d)))</c>
/// (and likewise for UseNpgsql).
/// </summary>
public class KhonsuExecutionStrategy : ExecutionStrategy
{
    private readonly TimeSpan _baseDelay;

    /// <summary>Six retries, at most a second apart, the first after about 10 ms.</summary>
    public KhonsuExecutionStrategy(ExecutionStrategyDependencies dependencies)
        : this(dependencies, maxRetryCount: 6, maxRetryDelay: TimeSpan.FromSeconds(1), baseDelay: TimeSpan.FromMilliseconds(10))
    {
    }

    /// <param name="dependencies">EF's dependencies for the strategy.</param>
    /// <param name="maxRetryCount">Retries after the first attempt.</param>
    /// <param name="maxRetryDelay">The longest wait between two attempts.</param>
    /// <param name="baseDelay">The ceiling of the first wait; it doubles per retry (full jitter).</param>
    public KhonsuExecutionStrategy(ExecutionStrategyDependencies dependencies, int maxRetryCount, TimeSpan maxRetryDelay, TimeSpan baseDelay)
        : base(dependencies, maxRetryCount, maxRetryDelay)
    {
        _baseDelay = baseDelay;
    }

    /// <summary>
    /// Whether a failed operation is tried again: not inside a TransactionScope begun outside the
    /// strategy, where the scope is the unit of work and a failure dooms it (EF's retrying strategies
    /// refuse to run there at all; this one runs once). To retry a scope, begin it inside
    /// <c>strategy.ExecuteAsync(...)</c>: the strategy then starts before the scope and retries it whole.
    /// </summary>
    public override bool RetriesOnFailure => base.RetriesOnFailure && System.Transactions.Transaction.Current is null;

    /// <summary>
    /// Transient by the exception's own word, or one of PostgreSQL's conflict codes (serialization
    /// failure, deadlock, lock timeout), which Khonsu turns into its serialization failure for its
    /// own commands but which reach EF commands as the provider raised them.
    /// </summary>
    protected override bool ShouldRetryOn(Exception exception)
        => exception is DbException { IsTransient: true } or DbException { SqlState: "40001" or "40P01" or "55P03" };

    /// <summary>Full-jitter exponential backoff from <c>baseDelay</c>: conflicts clear quickly, and jitter keeps retries apart.</summary>
    protected override TimeSpan? GetNextDelay(Exception lastException)
    {
        if (base.GetNextDelay(lastException) is null)
        {
            return null;
        }

        var ceiling = Math.Min(MaxRetryDelay.TotalMilliseconds, _baseDelay.TotalMilliseconds * Math.Pow(2, ExceptionsEncountered.Count - 1));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
    }
}
