using System.Diagnostics;
using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

/// <summary>kcat, a Kafka client nobody here wrote, reads the log; KafkaLogRecordFormat decodes what it prints.</summary>
public sealed class KcatTests
{
    [Fact]
    public void A_last_writer_wins_write_and_an_in_doubt_note_are_spelled_out()
    {
        var id = TransactionId.New();
        var commit = new LogRecord
        {
            Kind = LogRecordKind.Commit,
            TransactionId = id,
            NodeId = "n",
            Timestamp = DateTimeOffset.UnixEpoch,
            Participants = [new Engine.Commit.ParticipantVote("shop", false, [new Engine.Commit.RowWrite("orders", "[7]", Engine.Commit.WriteKind.Update, 1, 2) { LastWriterWins = true }])],
        };
        var note = commit with { Kind = LogRecordKind.InDoubtNote, Reason = "backend 'shop' could not be reached", Participants = [new Engine.Commit.ParticipantVote("shop", false, [])] };

        Assert.Contains("Update orders[[7]] version 1 -> 2 (last writer wins)", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(commit)), StringComparison.Ordinal);
        Assert.Contains("INDOUBTNOTE", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(note)), StringComparison.Ordinal);
        Assert.Contains("reason=\"backend 'shop' could not be reached\"", KafkaLogRecordFormat.Describe(LogRecordCodec.Encode(note)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kcat_reads_the_log_topic_and_its_values_decode_for_a_human()
    {
        await using var cluster = await KafkaMockCluster.StartAsync();
        var address = KafkaLogAddress.Parse(await cluster.CreateLogAsync());
        var (committed, aborted) = (TransactionId.New(), TransactionId.New());
        await using (var log = await LogRecords.OpenAsync(address.ToString()))
        {
            await log.AppendAsync(LogRecords.New(LogRecordKind.Commit, committed));
            await log.AppendAsync(LogRecords.New(LogRecordKind.Abort, aborted));
            await log.AppendAsync(LogRecords.New(LogRecordKind.End, committed));
        }

        var listing = System.Text.Encoding.UTF8.GetString(await KcatAsync(address, "-o", "beginning", "-e", "-f", "%o %k\n"));
        Assert.Equal([$"0 {committed}", $"1 {aborted}", $"2 {committed}"], listing.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var value = await KcatAsync(address, "-o", "0", "-c", "1", "-e", "-f", "%s");
        var text = KafkaLogRecordFormat.Describe(0, committed.ToString(), value);
        Assert.StartsWith($"@0 key={committed} COMMIT tx={committed} node=test", text, StringComparison.Ordinal);
        Assert.Contains("participant ledger (redo from log): 1 write(s)", text, StringComparison.Ordinal);
        Assert.Contains("accounts[1] version 3 -> 4 image {id=1, balance=75}", text, StringComparison.Ordinal);
        Assert.Contains("ABORT", KafkaLogRecordFormat.Describe(await KcatAsync(address, "-o", "1", "-c", "1", "-e", "-f", "%s")), StringComparison.Ordinal);
        Assert.StartsWith("UNREADABLE", KafkaLogRecordFormat.Describe(value.AsSpan(0, value.Length - 1)), StringComparison.Ordinal);
    }

    private static async Task<byte[]> KcatAsync(KafkaLogAddress address, params string[] args)
    {
        var start = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-C", "-b", address.BootstrapServers, "-t", address.Topic, "-p", "0", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        using var kcat = Process.Start(start) ?? throw new InvalidOperationException("kcat did not start (apt-get install kcat)");
        var stderr = kcat.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        await kcat.StandardOutput.BaseStream.CopyToAsync(output);
        await kcat.WaitForExitAsync();
        Assert.True(kcat.ExitCode == 0, $"kcat failed: {await stderr}");
        return output.ToArray();
    }
}
