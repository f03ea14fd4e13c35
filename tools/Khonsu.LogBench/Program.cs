// Khonsu.LogBench: appends commit records (one participant, one row image, like a small transfer)
// to the embedded log and to the Kafka log, side by side:
//   latency: one append at a time (what one committing connection waits for the log);
//   throughput: <concurrency> appends in flight at once (many connections committing).
//   dotnet Khonsu.LogBench.dll [--bootstrap host:port] [--count N] [--concurrency C] [--rtt MS] [--kafka setting=value ...]
//   (--rtt: the mock cluster's broker answers MS milliseconds late, a network round trip)
//   dotnet Khonsu.LogBench.dll --open N [--interval K]: opening a Kafka log of N records (commit and
//     end records of certified transactions) read from offset 0, against one with a checkpoint every K.
// Without --bootstrap it starts tools/Khonsu.KafkaMock (librdkafka's mock cluster) itself.
using System.Diagnostics;
using System.Globalization;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;
using Khonsu.Log.Kafka;

string? bootstrap = null;
var (count, concurrency) = (2000, 64);
var settings = new Dictionary<string, string>();
int? openRecords = null;
var rtt = 0;
var interval = KafkaCommitLogOptions.DefaultCheckpointInterval;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--bootstrap": bootstrap = args[i + 1]; break;
        case "--count": count = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--concurrency": concurrency = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--open": openRecords = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--rtt": rtt = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--interval": interval = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--kafka": settings[args[i + 1].Split('=')[0]] = args[i + 1].Split('=', 2)[1]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

Process? mock = null;
if (bootstrap is null)
{
    var output = new DirectoryInfo(AppContext.BaseDirectory); // tools/Khonsu.LogBench/bin/<config>/<tfm>/
    var tool = Path.Combine(output.Parent!.Parent!.Parent!.Parent!.FullName, "Khonsu.KafkaMock", "bin", output.Parent.Name, output.Name, "Khonsu.KafkaMock.dll");
    mock = Process.Start(new ProcessStartInfo("dotnet", [tool]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true })!;
    _ = mock.StandardError.ReadToEndAsync();
    bootstrap = (await mock.StandardOutput.ReadLineAsync())!["BOOTSTRAP ".Length..];
}

var topic = "khonsu-bench-" + Guid.NewGuid().ToString("N")[..8];
if (mock is not null)
{
    await mock.StandardInput.WriteLineAsync($"topic {topic} 1 1");
    await mock.StandardInput.WriteLineAsync($"rtt 1 {rtt}");
    await mock.StandardInput.FlushAsync();
    await mock.StandardOutput.ReadLineAsync();
    await mock.StandardOutput.ReadLineAsync();
}

if (openRecords is { } records)
{
    try
    {
        await OpenBenchAsync(records);
    }
    finally
    {
        if (mock is not null)
        {
            mock.StandardInput.Close();
            await mock.WaitForExitAsync();
        }
    }

    return 0;
}

var directory = Directory.CreateTempSubdirectory("khonsu-bench-");
Console.WriteLine($"{count} commit records per run, {concurrency} in flight for throughput; broker rtt {rtt} ms; Kafka settings: {string.Join(' ', settings.Select(s => s.Key + "=" + s.Value))}; Kafka at {bootstrap} ({(mock is null ? "given" : "mock cluster")}), embedded log in {directory.FullName}");
Console.WriteLine("log       | 1 at a time: p50 ms  p99 ms  appends/s | pipelined: appends/s");
try
{
    await using (var embedded = EmbeddedCommitLog.Open(Path.Combine(directory.FullName, "khonsu-log.db")))
    {
        await RunAsync("embedded", embedded);
    }

    await using (var kafka = await KafkaCommitLog.OpenAsync(new KafkaCommitLogOptions { Address = KafkaLogAddress.Parse($"kafka://{bootstrap}/{topic}"), ClientSettings = settings, NodeId = "bench" }))
    {
        await RunAsync("kafka", kafka);
    }
}
finally
{
    directory.Delete(recursive: true);
    if (mock is not null)
    {
        mock.StandardInput.Close();
        await mock.WaitForExitAsync();
    }
}

return 0;

async Task RunAsync(string name, ICommitLog log)
{
    for (var i = 0; i < 50; i++)
    {
        await log.AppendAsync(Record()); // warm-up: connections, JIT
    }

    var latencies = new double[count];
    var serial = Stopwatch.StartNew();
    for (var i = 0; i < count; i++)
    {
        var started = Stopwatch.GetTimestamp();
        await log.AppendAsync(Record());
        latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    serial.Stop();
    Array.Sort(latencies);

    var next = 0;
    var pipelined = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) <= count)
        {
            await log.AppendAsync(Record());
        }
    }));
    pipelined.Stop();

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-9} | {latencies[count / 2],19:0.000} {latencies[(int)(count * 0.99)],7:0.000} {count / serial.Elapsed.TotalSeconds,10:0} | {count / pipelined.Elapsed.TotalSeconds,20:0}"));
}

// The same records into a log without checkpoints and one with a checkpoint every <interval>; then each is opened afresh.
async Task OpenBenchAsync(int records)
{
    Console.WriteLine($"{records} records (commit + end of {records / 2} transactions, 3 reads and 1 write each), checkpoint every {interval}; Kafka at {bootstrap}");
    Console.WriteLine("log               | open ms | records replayed | from checkpoint | checkpoint bytes | taking it (ms)");
    var measured = new List<string>();
    foreach (var every in new[] { 0, interval })
    {
        var name = topic + (every == 0 ? "-plain" : "-checkpointed");
        if (mock is not null)
        {
            await mock.StandardInput.WriteLineAsync($"topic {name} 1 1");
            await mock.StandardInput.FlushAsync();
            await mock.StandardOutput.ReadLineAsync();
        }

        var options = new KafkaCommitLogOptions
        {
            Address = KafkaLogAddress.Parse($"kafka://{bootstrap}/{name}"),
            ClientSettings = new Dictionary<string, string>(settings) { [KafkaCommitLogOptions.CheckpointIntervalKey] = every.ToString(CultureInfo.InvariantCulture), [KafkaCommitLogOptions.CheckpointSecondsKey] = "0" },
            NodeId = "bench",
        };
        string written;
        await using (var writer = await KafkaCommitLog.OpenAsync(options))
        {
            var next = 0;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                while (Interlocked.Add(ref next, 2) <= records)
                {
                    var commit = CertifiedRecord(writer.Certifier.TakeSnapshot());
                    await writer.AppendAsync(commit);
                    await writer.AppendAsync(commit with { Kind = LogRecordKind.End, Certification = null, Participants = [] });
                }
            }));
            await writer.CheckpointWrittenAsync();
            written = writer.LastCheckpoint is { } last ? $"{last.Bytes,16} | {last.Took.TotalMilliseconds,14:0.0}" : $"{"-",16} | {"-",14}";
        }

        await using var reader = await KafkaCommitLog.OpenAsync(options);
        var opening = reader.Opening;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(every == 0 ? "from offset 0" : "from checkpoint"),-17} | {opening.Elapsed.TotalMilliseconds,7:0} | {opening.RecordsReplayed,16} | {opening.CheckpointOffset?.ToString(CultureInfo.InvariantCulture) ?? "-",15} | {written}"));
    }
}

static LogRecord CertifiedRecord(LogPosition snapshot)
{
    var key = Random.Shared.Next(100_000).ToString(CultureInfo.InvariantCulture);
    return Record() with
    {
        Participants = [new ParticipantVote("ledger", true, [new RowWrite("accounts", key, WriteKind.Update, 3, 4, new RowImage(["id", "balance"], [1L, 75L]))])],
        Certification = new Khonsu.Engine.Log.LogCertification(snapshot, Serializable: true, SeveralSnapshots: false,
            [.. Enumerable.Range(0, 3).Select(_ => new Khonsu.Engine.ItemId("ledger", "accounts", Random.Shared.Next(100_000).ToString(CultureInfo.InvariantCulture)))]),
    };
}

static LogRecord Record() => new()
{
    Kind = LogRecordKind.Commit,
    TransactionId = TransactionId.New(),
    NodeId = "bench",
    Timestamp = DateTimeOffset.UtcNow,
    Participants = [new ParticipantVote("ledger", true, [new RowWrite("accounts", "1", WriteKind.Update, 3, 4, new RowImage(["id", "balance"], [1L, 75L]))]), new ParticipantVote("shop", false, [])],
};
