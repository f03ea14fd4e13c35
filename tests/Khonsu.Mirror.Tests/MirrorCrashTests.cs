using DuckDB.NET.Data;
using Khonsu.Mirror.DuckDb;

namespace Khonsu.Mirror.Tests;

/// <summary>`khonsu mirror run` killed with SIGKILL while it applies a backlog, then run again: nothing lost, nothing applied twice.</summary>
public sealed class MirrorCrashTests
{
    private const int Transfers = 300;

    [Fact]
    public async Task An_applier_killed_mid_backlog_resumes_with_nothing_lost_or_applied_twice()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.ExecuteAsync(connection, null, "UPDATE accounts SET owner = owner");
            await MirrorDatabases.ExecuteAsync(connection, null, "UPDATE wallets SET owner = owner");
            var random = new Random(5);
            for (var i = 0; i < Transfers; i++)
            {
                await MirrorDatabases.TransferAsync(connection, random.Next(1, 3), random.Next(1, 3), random.Next(-20, 21));
            }
        }

        await databases.ClearPoolsAsync();
        var lastCommit = await LastCommitPositionAsync(databases.LogPath);

        // Two transactions per DuckDB transaction: a long backlog of small commits to land in.
        using (var applier = KhonsuTool.Start(databases.Followed, "mirror", "run", "--mirror", databases.MirrorPath, "--group", "2"))
        {
            var applied = 0;
            while (await applier.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("applied through", StringComparison.Ordinal) && ++applied == 5)
                {
                    applier.Kill(); // SIGKILL: no handler runs, DuckDB's transaction in progress is cut off
                    break;
                }
            }

            await applier.WaitForExitAsync();
            Assert.True(applied == 5, "the applier exited before it applied five groups:\n" + await applier.StandardError.ReadToEndAsync());
        }

        var killedAt = (await DuckDbMirror.ReadPositionAsync(databases.MirrorPath))!;
        Assert.True(killedAt.ThroughPosition < lastCommit, $"the kill came after the applier caught up (position {killedAt.ThroughPosition}, last commit {lastCommit}): it proves nothing");

        var resumed = await KhonsuTool.RunAsync(databases.Followed, "mirror", "run", "--mirror", databases.MirrorPath, "--once");
        Assert.Contains($"mirror at position {killedAt.ThroughPosition}", resumed);

        await using var query = new DuckDBConnection($"Data Source={databases.MirrorPath};ACCESS_MODE=READ_ONLY");
        await query.OpenAsync();
        Assert.Equal(await databases.SourceBalancesAsync(), (await MirrorQueries.BalancesAsync(query)).Balances);

        // Every transaction once: the mirror records each applied transaction under its id (a primary key).
        Assert.Equal(2L + Transfers, Convert.ToInt64(await MirrorQueries.ScalarAsync(query, "SELECT count(*) FROM khonsu_mirror.transactions")));
        Assert.Equal(lastCommit, Convert.ToInt64(await MirrorQueries.ScalarAsync(query, "SELECT max(position) FROM khonsu_mirror.transactions")));
    }

    private static async Task<long> LastCommitPositionAsync(string logPath)
        => Convert.ToInt64(await Khonsu.TestSupport.DirectSql.SqliteScalarAsync(logPath, "SELECT max(position) FROM khonsu_log WHERE kind = 'COMMIT'"));
}
