using Khonsu.Engine.Commit;

namespace Khonsu.Engine.Recovery;

/// <summary>
/// One backend as recovery sees it: what it holds undecided, and how to drive a transaction to
/// its logged outcome there. Every operation must be idempotent: recovery may run twice, or
/// crash halfway and run again.
/// </summary>
public interface IRecoverableResource
{
    /// <summary>The backend's name in the connection string.</summary>
    string Name { get; }

    /// <summary>Khonsu transactions prepared on this backend and not yet decided there.</summary>
    ValueTask<IReadOnlyList<PreparedTransaction>> ListPreparedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes the transaction's writes on this backend committed: nothing if its applied-marker is
    /// there, COMMIT PREPARED if it is prepared, redo of the logged row images if the backend lost
    /// them (SQLite).
    /// </summary>
    ValueTask CommitAsync(TransactionId transactionId, ParticipantVote vote, CancellationToken cancellationToken);

    /// <summary>Rolls the transaction back on this backend if it is prepared there.</summary>
    ValueTask AbortAsync(TransactionId transactionId, CancellationToken cancellationToken);
}
