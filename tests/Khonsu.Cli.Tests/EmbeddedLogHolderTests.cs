using Khonsu.TestSupport;

namespace Khonsu.Cli.Tests;

/// <summary>
/// While an application process holds the embedded log, the tool still reads it (status, log
/// tail), and refuses to write it (recover) with a message that says who holds it and what to do.
/// Once that process is gone (SIGKILL), recover holds the log and aborts its dead transaction at once.
/// </summary>
public class EmbeddedLogHolderTests
{
    [Fact]
    public async Task Status_and_tail_read_the_log_while_the_application_holds_it_and_recover_waits_for_it_to_stop()
    {
        await using var db = await CliDatabases.CreateAsync();
        var install = await CliRun.RunAsync(db.ConnectionString(), "schema", "install");
        Assert.True(install.ExitCode == 0, install.ToString());
        await db.CommitTransferAsync(amount: 5); // creates the log; the runtime is closed again
        await using var application = await CrashChild.StopAtAsync(db.ConnectionString(), "AfterParticipantPrepared", 2, amount: 25);

        var status = await CliRun.RunAsync(db.ConnectionString(), "status");
        Assert.True(status.ExitCode == 2, status.ToString());
        Assert.Contains($"Commit log: {db.LogPath}", status.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{application.TransactionId}  prepared ", status.Stdout, StringComparison.Ordinal);
        var tail = await CliRun.RunAsync(db.ConnectionString(), "log", "tail");
        Assert.True(tail.ExitCode == 0, tail.ToString());

        var refused = await CliRun.RunAsync(db.ConnectionString(), "recover");
        Assert.True(refused.ExitCode == 3, refused.ToString());
        Assert.Contains($"khonsu recover refused: the commit log '{db.LogPath}' is held by a running process (", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains($"process {application.ProcessId} on ", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("stop it and run khonsu recover again", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(1L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));

        await application.KillAsync();

        var recover = await CliRun.RunAsync(db.ConnectionString(), "recover");
        Assert.True(recover.ExitCode == 0, recover.ToString());
        Assert.Contains($"{application.TransactionId} aborted", recover.Stdout, StringComparison.Ordinal);
        Assert.Equal(0L, await db.PostgresScalarAsync("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"));
    }
}
