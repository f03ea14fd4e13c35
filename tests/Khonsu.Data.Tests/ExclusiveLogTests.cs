using Khonsu.TestSupport;

namespace Khonsu.Data.Tests;

/// <summary>
/// One process holds an embedded log: a second process (a real one, started from this test) or a
/// second runtime of this process is refused at open, with an error that names the file and says
/// what to do; a holder killed with SIGKILL leaves nothing that blocks the next open.
/// </summary>
public class ExclusiveLogTests
{
    [Fact]
    public async Task A_second_process_is_refused_the_embedded_log_and_a_killed_holder_leaves_nothing_behind()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await InstallAsync(db);
        await using var holder = await CrashChild.StopAtAsync(db.ConnectionString(), "BeforePrepare", 1, amount: 10);

        var refused = await Assert.ThrowsAsync<KhonsuException>(() => db.OpenAsync());

        Assert.Equal("55006", refused.SqlState);
        Assert.False(refused.IsTransient);
        Assert.Contains($"The commit log '{db.LogPath}' is in use by another process", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"process {holder.ProcessId} on {Environment.MachineName}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Kafka log (Log=kafka://", refused.Message, StringComparison.Ordinal);

        await holder.KillAsync();

        await using var reopened = await db.OpenAsync();
        Assert.Equal(100L, await db.SqliteScalarAsync("SELECT balance FROM accounts WHERE id = 1"));
        Assert.True(File.Exists(db.LogPath + ".lock"), "the lock file stays; it holds no state and blocks nothing by itself");
    }

    [Fact]
    public async Task A_second_runtime_of_this_process_is_refused_the_log_until_the_first_closes()
    {
        await using var db = await TwoDatabases.CreateAsync();
        await using var first = await db.OpenAsync();

        var refused = await Assert.ThrowsAsync<KhonsuException>(() => db.OpenAsync(";LockTimeout=1"));

        Assert.Equal("55006", refused.SqlState);
        Assert.Contains($"The commit log '{db.LogPath}' is already open in this process under another connection string", refused.Message, StringComparison.Ordinal);
        // An open connection keeps its runtime, and with it the log, until it closes.
        await first.CloseAsync();
        await KhonsuConnection.ClearPoolAsync(first);
        await using var second = await db.OpenAsync(";LockTimeout=1");
    }

    /// <summary>Opens once so that Khonsu installs its schema, then lets the runtime go (its log with it).</summary>
    private static async Task InstallAsync(TwoDatabases db)
    {
        await using var install = await db.OpenAsync();
        await KhonsuConnection.ClearPoolAsync(install);
    }
}
