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

    [Fact]
    public async Task Every_attempt_keeps_the_age_of_the_first_so_a_transaction_that_keeps_losing_grows_older()
    {
        var ages = new List<long>();
        await _connection.RunInTransactionAsync(
            (transaction, _) =>
            {
                ages.Add(transaction.Retry.Age);
                return ages.Count < 3
                    ? throw KhonsuException.SerializationFailure("conflict", Engine.TransactionId.Parse(transaction.TransactionId))
                    : Task.CompletedTask;
            },
            new KhonsuRetryOptions { BaseDelay = TimeSpan.FromMilliseconds(1) });

        Assert.Equal(3, ages.Count);
        Assert.Single(ages.Distinct());

        // A transaction begun since is younger than all three attempts.
        await using var later = await _connection.BeginTransactionAsync();
        Assert.True(later.Retry.Age > ages[0]);
    }

    [Fact]
    public async Task Failures_while_an_older_transaction_is_live_do_not_count_against_the_maximum()
    {
        await using var other = new KhonsuConnection(_connection.ConnectionString);
        await other.OpenAsync();
        var attempts = 0;
        await using (var older = await other.BeginTransactionAsync())
        {
            // It waits its turn behind the older one: six failures, with at most two allowed, and it commits.
            await _connection.RunInTransactionAsync(
                (transaction, _) => ++attempts <= 6
                    ? throw KhonsuException.SerializationFailure($"conflict {attempts}", Engine.TransactionId.Parse(transaction.TransactionId))
                    : Task.CompletedTask,
                new KhonsuRetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(1) });
            Assert.Equal(7, attempts);
        }

        // As the oldest, its failures count: the same work gives up after two.
        attempts = 0;
        var error = await Assert.ThrowsAsync<KhonsuException>(() => _connection.RunInTransactionAsync(
            (transaction, _) => ++attempts <= 6
                ? throw KhonsuException.SerializationFailure($"conflict {attempts}", Engine.TransactionId.Parse(transaction.TransactionId))
                : Task.CompletedTask,
            new KhonsuRetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(1) }));
        Assert.Equal("conflict 2", error.Message);
    }

    [Fact]
    public async Task A_transaction_begun_right_after_one_that_failed_transiently_is_its_retry_and_keeps_its_age()
    {
        await using var other = new KhonsuConnection(_connection.ConnectionString);
        await other.OpenAsync();
        long first;
        await using (var failed = await _connection.BeginTransactionAsync())
        {
            first = failed.Retry.Age;
            await _connection.QueryAsync<long>("SELECT count(*) FROM items", transaction: failed); // its snapshot
            await other.ExecuteAsync("INSERT INTO items (name) VALUES ('other')");
            var conflict = await Assert.ThrowsAsync<KhonsuException>(() => _connection.ExecuteAsync("INSERT INTO items (name) VALUES ('stale')", transaction: failed));
            Assert.Equal("40001", conflict.SqlState);
        }

        // An execution strategy or a retry loop of the application begins the next attempt.
        await using (var retry = await _connection.BeginTransactionAsync())
        {
            Assert.Equal(first, retry.Retry.Age);
            await _connection.ExecuteAsync("INSERT INTO items (name) VALUES ('retried')", transaction: retry);
            await retry.CommitAsync();
        }

        // Committed: what comes next is new work, younger.
        await using var next = await _connection.BeginTransactionAsync();
        Assert.True(next.Retry.Age > first);
    }

    public async ValueTask DisposeAsync()
    {
        await KhonsuConnection.ClearPoolAsync(_connection);
        await _connection.DisposeAsync();
        _directory.Dispose();
    }
}
