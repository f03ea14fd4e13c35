using Microsoft.Extensions.Logging;

namespace Khonsu.Data.Diagnostics;

/// <summary>
/// What Khonsu writes to an <see cref="ILogger"/> (category "Khonsu"): one Debug line per
/// transaction outcome, Information for what recovery did, Warning for transactions left in
/// doubt. Messages carry ids, backend names and counts, never a connection string or a value.
/// </summary>
internal sealed partial class KhonsuLog(ILogger logger)
{
    public const string Category = "Khonsu";

    public static KhonsuLog None { get; } = new(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    private readonly ILogger _logger = logger;

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Khonsu started on node {NodeId} with backends {Backends}; commit log at {LogPath}")]
    public partial void Started(string nodeId, string backends, string logPath);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Transaction {TransactionId} committed on {Participants} backend(s) in {ElapsedMilliseconds:0.###} ms")]
    public partial void Committed(string transactionId, int participants, double elapsedMilliseconds);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Transaction {TransactionId} aborted at commit: {Reason}")]
    public partial void Aborted(string transactionId, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Transaction {TransactionId} rolled back on {Participants} backend(s)")]
    public partial void RolledBack(string transactionId, int participants);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Transaction {TransactionId} is in doubt: its commit outcome is unknown until recovery settles it ({Reason})")]
    public partial void OutcomeUnknown(string transactionId, string reason);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Recovery finished {Committed} in-doubt transaction(s) as committed and {Aborted} as aborted")]
    public partial void Recovered(int committed, int aborted);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Recovery left {InDoubt} prepared participant(s) in doubt; a later pass retries them")]
    public partial void StillInDoubt(int inDoubt);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "A recovery pass failed; the next pass retries: {Reason}")]
    public partial void RecoveryFailed(string reason);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "transaction_log on backend {Backend} could not be brought up to date ({Lag} record(s) behind); retrying in {RetryMilliseconds} ms: {Reason}")]
    public partial void TransactionLogFailed(string backend, long lag, long retryMilliseconds, string reason);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Warning, Message = "transaction_log on backend {Backend} misses log positions {From} to {To}: the log's retention deleted them before they were materialised")]
    public partial void TransactionLogGap(string backend, long from, long to);

    [LoggerMessage(EventId = 1050, Level = LogLevel.Debug, Message = "Truncation deleted {LogRecords} log record(s), {TransactionLogRows} transaction_log row(s) and {Markers} applied-marker(s) in {ElapsedMilliseconds:0.#} ms")]
    public partial void Truncated(long logRecords, long transactionLogRows, long markers, double elapsedMilliseconds);

    [LoggerMessage(EventId = 1051, Level = LogLevel.Warning, Message = "A truncation pass failed; the next pass retries: {Reason}")]
    public partial void TruncationFailed(string reason);

    [LoggerMessage(EventId = 1030, Level = LogLevel.Warning, Message = "{Warning}")]
    public partial void CommitLogWarning(string warning);

    [LoggerMessage(EventId = 1040, Level = LogLevel.Warning, Message = "Backend {Backend} records no commit log (its schema is not installed: Schema=Manual), so nothing keeps a runtime with another log from using it; run khonsu schema install or KhonsuConnection.InstallSchemaAsync()")]
    public partial void NotFenced(string backend);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "transaction_log on backend {Backend} is being updated again, up to log position {Position}")]
    public partial void TransactionLogResumed(string backend, long position);

    [LoggerMessage(EventId = 1060, Level = LogLevel.Warning, Message = "The prefetch model's state file {Path} could not be read; prefetching learns afresh")]
    public partial void PrefetchStateUnreadable(string path, Exception error);

    [LoggerMessage(EventId = 1061, Level = LogLevel.Warning, Message = "The prefetch model's state could not be saved to {Path}")]
    public partial void PrefetchStateNotSaved(string path, Exception error);
}
