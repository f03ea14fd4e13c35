using System.Data.Common;
using Khonsu.Engine;
using Khonsu.Engine.Commit;

namespace Khonsu.Data.Backends;

/// <summary>
/// A backend's local transaction inside a Khonsu transaction: statements run in it for real, and
/// the coordinator prepares and finishes it.
/// </summary>
public abstract class BackendTransaction : ITransactionParticipant
{
    protected BackendTransaction(KhonsuBackend backend, DbConnection connection, TransactionId transactionId)
    {
        Backend = backend;
        Connection = connection;
        TransactionId = transactionId;
    }

    public KhonsuBackend Backend { get; }

    public DbConnection Connection { get; }

    public TransactionId TransactionId { get; }

    public string Name => Backend.Name;

    /// <summary>The inner provider's transaction object that inner commands must carry, if it has one.</summary>
    public abstract DbTransaction? InnerTransaction { get; }

    /// <summary>Runs before each statement of the transaction on this backend.</summary>
    public virtual ValueTask BeforeStatementAsync(DbCommand command, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public abstract ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, CancellationToken cancellationToken);

    public abstract ValueTask CommitAsync(TransactionId transactionId, CancellationToken cancellationToken);

    public abstract ValueTask RollbackAsync(TransactionId transactionId, CancellationToken cancellationToken);

    public abstract ValueTask AbandonAsync(CancellationToken cancellationToken);
}
