using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;

namespace Khonsu.Mirror.Tests;

/// <summary>`khonsu changes tail` (text and --arrow) and `khonsu mirror status`, run as a user runs them.</summary>
public sealed class MirrorCommandTests
{
    [Fact]
    public async Task Changes_tail_prints_each_row_change_and_writes_arrow_streams_and_mirror_status_shows_the_lag()
    {
        await using var databases = await MirrorDatabases.CreateAsync();
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.TransferAsync(connection, account: 1, wallet: 2, amount: 5);
        }

        await databases.ClearPoolsAsync();
        var text = await KhonsuTool.RunAsync(databases.Followed, "changes", "tail");
        var lines = text.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.Contains(" ledger.accounts update key=1 ", StringComparison.Ordinal) && l.Contains("balance=95", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(" shop.wallets update key=2 ", StringComparison.Ordinal) && l.Contains("balance=1005", StringComparison.Ordinal));

        var prefix = databases.Directory.File("changes");
        await KhonsuTool.RunAsync(databases.Followed, "changes", "tail", "--arrow", prefix);
        using (var file = File.OpenRead(prefix + ".shop.wallets.arrows"))
        using (var reader = new ArrowStreamReader(file))
        {
            var batch = await reader.ReadNextRecordBatchAsync();
            Assert.Equal(1005L, ((Int64Array)batch.Column("balance")).GetValue(0));
            Assert.Null(await reader.ReadNextRecordBatchAsync());
        }

        await KhonsuTool.RunAsync(databases.Followed, "mirror", "run", "--mirror", databases.MirrorPath, "--once");
        using (var status = JsonDocument.Parse(await KhonsuTool.RunAsync(databases.Followed, "--json", "mirror", "status", "--mirror", databases.MirrorPath)))
        {
            Assert.Equal(0, status.RootElement.GetProperty("lag_positions").GetInt64());
            Assert.True(status.RootElement.GetProperty("through_position").GetInt64() >= 0);
        }

        // Another transaction: the mirror is behind it by its records until it runs again.
        await using (var connection = await databases.OpenAsync())
        {
            await MirrorDatabases.TransferAsync(connection, account: 2, wallet: 1, amount: 1);
        }

        await databases.ClearPoolsAsync();
        using (var status = JsonDocument.Parse(await KhonsuTool.RunAsync(databases.Followed, "--json", "mirror", "status", "--mirror", databases.MirrorPath)))
        {
            Assert.True(status.RootElement.GetProperty("lag_positions").GetInt64() >= 1, status.RootElement.ToString());
            Assert.True(status.RootElement.GetProperty("lag_seconds").GetDouble() > 0, status.RootElement.ToString());
        }
    }
}
