using Khonsu.Checker.History;

namespace Khonsu.Checker.Workload;

/// <summary>Runs one planned transaction against the databases and tells how it ended, with the ops as they happened.</summary>
internal interface ITransactionExecutor : IAsyncDisposable
{
    /// <summary>
    /// Runs <paramref name="planned"/> as transaction <paramref name="transactionId"/>: reads get their
    /// value and version, writes the version they installed, and one audit row per written key is
    /// inserted in the same transaction. Never throws for a database error: a failure before commit
    /// or a definite rollback is <see cref="Outcome.Fail"/>, any other failure of the commit
    /// <see cref="Outcome.Unknown"/>.
    /// </summary>
    Task<ExecutedTransaction> RunAsync(string transactionId, IReadOnlyList<MicroOp> planned);
}
