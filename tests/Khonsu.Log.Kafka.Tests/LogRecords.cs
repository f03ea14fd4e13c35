using Khonsu.Engine;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Log;

namespace Khonsu.Log.Kafka.Tests;

internal static class LogRecords
{
    public static LogRecord New(LogRecordKind kind, TransactionId id, string node = "test")
        => new()
        {
            Kind = kind,
            TransactionId = id,
            NodeId = node,
            Timestamp = DateTimeOffset.UtcNow,
            Participants = kind == LogRecordKind.Commit
                ? [new ParticipantVote("ledger", true, [new RowWrite("accounts", "1", WriteKind.Update, 3, 4, new RowImage(["id", "balance"], [1L, 75L]))]), new ParticipantVote("shop", false, [])]
                : [new ParticipantVote("ledger", false, [])],
            Reason = kind == LogRecordKind.Abort ? "test abort" : null,
        };

    public static Task<KafkaCommitLog> OpenAsync(string address, Dictionary<string, string>? settings = null, string node = "test")
        => KafkaCommitLog.OpenAsync(new KafkaCommitLogOptions { Address = KafkaLogAddress.Parse(address), ClientSettings = settings ?? [], NodeId = node });
}
