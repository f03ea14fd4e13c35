using Khonsu.Engine;
using Khonsu.Engine.Log;

namespace Khonsu.Cli.InDoubt;

/// <summary>
/// The commit log as recovery uses it, telling the tool each record recovery appends (an end
/// record means a transaction is finished; an abort record that recovery decided one), so
/// `khonsu recover` can show progress. Everything else goes straight through.
/// </summary>
internal sealed class ObservedCommitLog(ICommitLog inner, Action<LogRecord> appended) : ICommitLog
{
    public LogIdentity Identity => inner.Identity;

    public async ValueTask<AppendResult> AppendAsync(LogRecord record, bool async, CancellationToken cancellationToken)
    {
        var result = await inner.AppendAsync(record, async, cancellationToken).ConfigureAwait(false);
        appended(record);
        return result;
    }

    public ValueTask<LoggedRecord?> GetDecisionAsync(TransactionId transactionId, CancellationToken cancellationToken = default)
        => inner.GetDecisionAsync(transactionId, cancellationToken);

    public IAsyncEnumerable<LoggedRecord> ReadUnfinishedAsync(CancellationToken cancellationToken = default)
        => inner.ReadUnfinishedAsync(cancellationToken);

    public IAsyncEnumerable<LoggedRecord> ReadFromAsync(LogPosition from, CancellationToken cancellationToken = default)
        => inner.ReadFromAsync(from, cancellationToken);

    public ValueTask NoteParticipantStatusAsync(
        TransactionId transactionId, string participant, ParticipantStatus status, string? reason, bool async, CancellationToken cancellationToken)
        => inner.NoteParticipantStatusAsync(transactionId, participant, status, reason, async, cancellationToken);

    /// <summary>The inner log belongs to the caller.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
