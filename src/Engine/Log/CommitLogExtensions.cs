namespace Khonsu.Engine.Log;

/// <summary>
/// The asynchronous calls of <see cref="ICommitLog"/>, for the callers that are never synchronous
/// (recovery, tools, tests): each log implements one method per operation, taking <c>async</c>.
/// </summary>
internal static class CommitLogExtensions
{
    /// <inheritdoc cref="ICommitLog.AppendAsync"/>
    public static ValueTask<AppendResult> AppendAsync(this ICommitLog log, LogRecord record, CancellationToken cancellationToken = default)
        => log.AppendAsync(record, async: true, cancellationToken);

    /// <inheritdoc cref="ICommitLog.NoteParticipantStatusAsync"/>
    public static ValueTask NoteParticipantStatusAsync(
        this ICommitLog log, TransactionId transactionId, string participant, ParticipantStatus status, string? reason, CancellationToken cancellationToken = default)
        => log.NoteParticipantStatusAsync(transactionId, participant, status, reason, async: true, cancellationToken);
}
