using System.Data.Common;

namespace Khonsu.Data.Execution;

/// <summary>
/// Helpers of the one code path for synchronous and asynchronous callers (Npgsql's <c>bool async</c>
/// pattern): a synchronous caller passes <c>async: false</c> down, each step then calls the inner
/// provider's synchronous method, and the task it returns has already completed, so the caller's
/// final <c>GetAwaiter().GetResult()</c> never waits on a thread-pool thread. Waits that are not
/// I/O (a task, a pause) are in <see cref="Engine.SyncOrAsyncWait"/>.
/// </summary>
internal static class SyncOrAsync
{
    public static ValueTask DisposeAsync<T>(T disposable, bool async)
        where T : IDisposable, IAsyncDisposable
    {
        if (async)
        {
            return disposable.DisposeAsync();
        }

        disposable.Dispose();
        return ValueTask.CompletedTask;
    }

    public static async ValueTask<int> ExecuteNonQueryAsync(DbCommand command, bool async, CancellationToken cancellationToken)
        => async ? await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteNonQuery();

    public static async ValueTask<object?> ExecuteScalarAsync(DbCommand command, bool async, CancellationToken cancellationToken)
        => async ? await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteScalar();

    public static async ValueTask<DbDataReader> ExecuteReaderAsync(DbCommand command, bool async, CancellationToken cancellationToken)
        => async ? await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteReader();

    public static async ValueTask<int> ExecuteNonQueryAsync(DbBatch batch, bool async, CancellationToken cancellationToken)
        => async ? await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) : batch.ExecuteNonQuery();

    public static async ValueTask<DbDataReader> ExecuteReaderAsync(DbBatch batch, bool async, CancellationToken cancellationToken)
        => async ? await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false) : batch.ExecuteReader();

    public static async ValueTask<bool> ReadAsync(DbDataReader reader, bool async, CancellationToken cancellationToken)
        => async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read();

    public static async ValueTask<bool> NextResultAsync(DbDataReader reader, bool async, CancellationToken cancellationToken)
        => async ? await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) : reader.NextResult();

    public static async ValueTask CommitAsync(DbTransaction transaction, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            transaction.Commit();
        }
    }

    public static async ValueTask RollbackAsync(DbTransaction transaction, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            transaction.Rollback();
        }
    }
}
