namespace Khonsu.Engine.Log;

/// <summary>
/// The commit log could not be reached or did not answer in time (a broker down, a request error,
/// a timeout). Transient: the log client reconnects by itself, so a later attempt may succeed.
/// An append that fails this way may or may not have reached the log; the transaction's outcome
/// is whatever <see cref="ICommitLog.GetDecisionAsync"/> later reports (first decision wins).
/// Messages never carry client secrets.
/// </summary>
internal sealed class CommitLogUnavailableException : IOException
{
    public CommitLogUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
