using Dapper;
using Khonsu.TestSupport;

namespace Khonsu.Data.Tests;

public sealed class RetryTests : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly KhonsuConnection _connection;

    public RetryTests()
    {
        _connection = new KhonsuConnection($"Khonsu:Sqlite:Data Source={Path.Combine(_directory.Path, "retry.db")}");
        _connection.Open();
        _connection.Execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)");
    }

    [Fact]
    public async Task A_transient_failure_rolls_the_attempt_back_and_runs_the_work_again()
    {
        var attempts = 0;

        var result = await _connection.RunInTransactionAsync(async (transaction, token) =>
        {
            attempts++;
            await _connection.ExecuteAsync("INSERT INTO items (name) VALUES (@name)", new { name = $"attempt {attempts}" }, transaction);
            if (attempts < 3)
            {
                throw KhonsuException.SerializationFailure("conflict", Engine.TransactionId.Parse(transaction.TransactionId));
            }

            return attempts;
        });

        Assert.Equal(3, result);
        Assert.Equal(["attempt 3"], await _connection.QueryAsync<string>("SELECT name FROM items"));
    }

    [Fact]
    public async Task A_non_transient_failure_is_not_retried()
    {
        var attempts = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => _connection.RunInTransactionAsync((_, _) =>
        {
            attempts++;
            throw new InvalidOperationException("bug");
        }));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task An_unknown_commit_outcome_is_never_retried()
    {
        var attempts = 0;

        var error = await Assert.ThrowsAsync<KhonsuException>(() => _connection.RunInTransactionAsync((transaction, _) =>
        {
            attempts++;
            throw KhonsuException.OutcomeUnknown("log unreachable", Engine.TransactionId.Parse(transaction.TransactionId), null);
        }));

        Assert.False(error.IsTransient);
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task Retries_stop_after_the_maximum_and_the_last_error_surfaces()
    {
        var attempts = 0;

        var error = await Assert.ThrowsAsync<KhonsuException>(() => _connection.RunInTransactionAsync(
            (transaction, _) =>
            {
                attempts++;
                throw KhonsuException.SerializationFailure($"conflict {attempts}", Engine.TransactionId.Parse(transaction.TransactionId));
            },
            new KhonsuRetryOptions { MaxAttempts = 4, BaseDelay = TimeSpan.FromMilliseconds(1) }));

        Assert.Equal(4, attempts);
        Assert.Equal("conflict 4", error.Message);
    }

    public async ValueTask DisposeAsync()
    {
        await KhonsuConnection.ClearPoolAsync(_connection);
        await _connection.DisposeAsync();
        _directory.Dispose();
    }
}
