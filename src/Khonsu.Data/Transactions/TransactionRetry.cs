using System.Data.Common;
using Khonsu.Data.Runtime;
using Khonsu.Engine.Commit;
using Khonsu.Engine.Coordination;

namespace Khonsu.Data.Transactions;

/// <summary>
/// A transaction's age (see <see cref="TransactionAges"/>) and whether it failed transiently: if
/// it then ends without committing, the next transaction begun on the connection soon after is
/// taken for its retry and keeps its age (see <see cref="KhonsuConnection"/>), so an old
/// transaction is not starved by younger ones it keeps losing to.
/// </summary>
internal sealed class TransactionRetry
{
    private readonly KhonsuConnection _connection;
    private readonly TransactionAges.Lease _age;
    private bool _failedTransiently;

    /// <param name="age">The age of the transaction this one retries; null for a new one.</param>
    public TransactionRetry(KhonsuConnection connection, long? age)
    {
        _connection = connection;
        _age = connection.Runtime.Ages.Hold(age ?? TransactionAges.Next());
    }

    /// <summary>When it first began, kept across retries: smaller is older.</summary>
    public long Age => _age.Age;

    /// <summary>
    /// For exception filters: notes a transient failure (a serialization failure, a bounded lock
    /// wait) and never catches.
    /// </summary>
    public bool FailedTransiently(Exception error)
    {
        if (error is DbException { IsTransient: true } or SerializationConflictException or TransactionAbortedException)
        {
            _failedTransiently = true;
        }

        return false;
    }

    /// <summary>A statement ran or ended: it waits on nothing any more (see <see cref="TransactionAges.HiddenWaitEnds"/>).</summary>
    public void StatementEnded() => _connection.Runtime.Ages.HiddenWaitEnds(Age);

    /// <summary>The transaction ended: its age is let go, and kept for a retry if it failed transiently and did not commit.</summary>
    public void Ended(bool committed)
    {
        _age.Dispose();
        _connection.TransactionEnded(Age, retried: _failedTransiently && !committed);
    }
}
