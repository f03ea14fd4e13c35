using Khonsu.Data.Diagnostics;
using Khonsu.Engine;
using Khonsu.Engine.Certification;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Coordination;
using Khonsu.Engine.Log;

namespace Khonsu.Data.Transactions;

/// <summary>
/// The Engine's commit failures as the <see cref="KhonsuException"/>s an ADO.NET caller handles,
/// each logged: the Engine's types are internal to Khonsu and carry no SqlState.
/// </summary>
internal static class CommitFailures
{
    /// <summary>Whether <see cref="Translate"/> maps the failure (for an exception filter).</summary>
    public static bool Translates(Exception error)
        => error is SerializationConflictException or ReadOnlyViolationException or TransactionAbortedException or CommitOutcomeUnknownException or CommitLogUnavailableException;

    public static KhonsuException Translate(Exception error, TransactionId id, KhonsuLog logger)
    {
        switch (error)
        {
            case SerializationConflictException conflict:
                logger.Aborted(id.ToString(), conflict.Message);
                return KhonsuException.SerializationFailure($"Transaction {id} was rolled back on every backend: {conflict.Message}", id, conflict);
            case ReadOnlyViolationException violation:
                logger.Aborted(id.ToString(), violation.Message);
                return KhonsuException.ReadOnlyViolation(violation.Message, id, violation);
            case TransactionAbortedException aborted:
                logger.Aborted(id.ToString(), aborted.Reason);
                return KhonsuException.SerializationFailure(aborted.Message, id, aborted);
            case CommitOutcomeUnknownException unknown:
                logger.OutcomeUnknown(id.ToString(), unknown.Message);
                return KhonsuException.OutcomeUnknown(unknown.Message, id, unknown);
            default:
                // The log refused or timed out and the abort record settled it: rolled back, safe to retry.
                var unavailable = (CommitLogUnavailableException)error;
                return KhonsuException.LogUnavailable($"Transaction {id} was rolled back: {unavailable.Message}", id, unavailable);
        }
    }
}
