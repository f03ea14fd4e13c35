using System.Diagnostics;
using System.Globalization;
using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Benchmarks;

/// <summary>
/// Commit records per second into one log from many concurrent appenders (as many transactions of
/// one process committing at once), each appending a commit record of a two-backend transfer (a
/// row image to redo on one participant) and waiting for its verdict, then the next.
/// </summary>
internal static class LogAppendThroughput
{
    /// <summary>Appends from <paramref name="appenders"/> at once for <paramref name="duration"/> (after a short warm-up); returns records/s.</summary>
    public static async Task<double> MeasureAsync(ICommitLog log, int appenders, TimeSpan duration, CancellationToken cancellationToken)
    {
        await RunAsync(log, appenders, TimeSpan.FromMilliseconds(Math.Min(500, duration.TotalMilliseconds)), cancellationToken);
        return await RunAsync(log, appenders, duration, cancellationToken);
    }

    private static async Task<double> RunAsync(ICommitLog log, int appenders, TimeSpan duration, CancellationToken cancellationToken)
    {
        long appended = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                await log.AppendAsync(Commit(), cancellationToken);
                Interlocked.Increment(ref appended);
            }
        }));
        return appended / clock.Elapsed.TotalSeconds;
    }

    private static LogRecord Commit()
    {
        var id = TransactionId.New();
        var row = Random.Shared.Next(1, BenchEnvironment.Accounts + 1).ToString(CultureInfo.InvariantCulture);
        return new LogRecord
        {
            Kind = LogRecordKind.Commit,
            TransactionId = id,
            NodeId = "bench",
            Timestamp = DateTimeOffset.UtcNow,
            Participants =
            [
                new ParticipantVote("ledger", true, [new RowWrite("accounts", row, WriteKind.Update, 3, 4, new RowImage(["id", "balance"], [1L, 75L]))]),
                new ParticipantVote("shop", false, [new RowWrite("orders", id.ToString(), WriteKind.Insert, null, 1, null)]),
            ],
        };
    }
}
