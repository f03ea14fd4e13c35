using Khonsu.Engine.Coordination;
using Khonsu.TestSupport;

namespace Khonsu.Data.Tests;

/// <summary>
/// A child process commits a cross-backend transaction and is killed with SIGKILL at each step of
/// the commit protocol. After recovery (which runs when a connection opens), both databases hold
/// all of the transaction or none of it, and which one matches the log's decision.
/// </summary>
public class CrashRecoveryTests
{
    [Theory]
    [InlineData(nameof(CommitStep.BeforePrepare), 1, false)]
    [InlineData(nameof(CommitStep.AfterParticipantPrepared), 1, false)] // SQLite holds its lock, PostgreSQL preparing or (prepares run at once) prepared
    [InlineData(nameof(CommitStep.AfterParticipantPrepared), 2, false)] // PostgreSQL prepared, no decision: aborted after the lease
    [InlineData(nameof(CommitStep.AfterAllPrepared), 1, false)]
    [InlineData(nameof(CommitStep.AfterDecisionLogged), 1, true)] // SQLite's local transaction is lost: redone from the log
    [InlineData(nameof(CommitStep.AfterParticipantFinished), 1, true)] // SQLite committed, PostgreSQL prepared or (finishes run at once) committed
    [InlineData(nameof(CommitStep.AfterParticipantFinished), 2, true)] // both finished, no end record
    [InlineData(nameof(CommitStep.BeforeEndRecord), 1, true)]
    public Task A_killed_commit_is_recovered_to_all_or_nothing_matching_the_log(string stepName, int occurrence, bool committed)
        => KillRecoverAndCheckAsync(stepName, occurrence, committed, inTransactionScope: false);

    /// <summary>The same when the child's writes are in a TransactionScope, killed while its Dispose (after Complete) commits.</summary>
    [Theory]
    [InlineData(nameof(CommitStep.AfterAllPrepared), 1, false)]
    [InlineData(nameof(CommitStep.AfterDecisionLogged), 1, true)]
    [InlineData(nameof(CommitStep.AfterParticipantFinished), 1, true)]
    public Task A_TransactionScope_killed_while_it_commits_is_recovered_to_all_or_nothing_matching_the_log(string stepName, int occurrence, bool committed)
        => KillRecoverAndCheckAsync(stepName, occurrence, committed, inTransactionScope: true);

    private static async Task KillRecoverAndCheckAsync(string stepName, int occurrence, bool committed, bool inTransactionScope)
    {
        var step = Enum.Parse<CommitStep>(stepName); // by name: CommitStep is internal to the engine, a theory public
        await using var db = await TwoDatabases.CreateAsync();
        var connectionString = db.ConnectionString(";PrepareLease=0.001");
        await using (var install = new KhonsuConnection(connectionString))
        {
            await install.OpenAsync(); // installs the schema before the child runs
        }

        await KhonsuConnection.ClearPoolAsync(new KhonsuConnection(connectionString));
        var transactionId = await CrashChild.KillAtAsync(connectionString, step.ToString(), occurrence, amount: 25, inTransactionScope: inTransactionScope);

        await using var recovered = await db.OpenAsync(";PrepareLease=0.001");
        await recovered.RecoverAsync();

        var balance = (long)(await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"))!;
        var orders = (long)(await db.PostgresScalarAsync("SELECT count(*) FROM orders WHERE id = 1025"))!;
        Assert.Equal(committed ? (75L, 1L) : (100L, 0L), (balance, orders));
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));

        var log = await db.TransactionLogAsync(transactionId);
        if (committed)
        {
            Assert.Equal(["ledger:COMMITTED:COMMIT", "shop:COMMITTED:COMMIT"], log);
        }
        else
        {
            Assert.All(log, row => Assert.Contains(":ABORT", row, StringComparison.Ordinal));
        }

        // Recovery again is harmless.
        await recovered.RecoverAsync();
        Assert.Equal(balance, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
    }
}
