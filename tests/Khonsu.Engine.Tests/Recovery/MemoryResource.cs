using Khonsu.Engine.Commit;
using Khonsu.Engine.Recovery;

namespace Khonsu.Engine.Tests.Recovery;

/// <summary>A backend as recovery sees it, in memory: what it holds prepared, and what recovery did to it.</summary>
internal sealed class MemoryResource(string name) : IRecoverableResource
{
    public string Name { get; } = name;

    public List<PreparedTransaction> Prepared { get; } = [];

    public List<string> Calls { get; } = [];

    public Exception? FailCommit { get; set; }

    public ValueTask<IReadOnlyList<PreparedTransaction>> ListPreparedAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<PreparedTransaction>>(Prepared.ToList());

    public ValueTask CommitAsync(TransactionId transactionId, ParticipantVote vote, CancellationToken cancellationToken)
    {
        if (FailCommit is not null)
        {
            return ValueTask.FromException(FailCommit);
        }

        Calls.Add($"commit {transactionId}");
        Prepared.RemoveAll(p => p.TransactionId == transactionId);
        return ValueTask.CompletedTask;
    }

    public ValueTask AbortAsync(TransactionId transactionId, CancellationToken cancellationToken)
    {
        Calls.Add($"abort {transactionId}");
        Prepared.RemoveAll(p => p.TransactionId == transactionId);
        return ValueTask.CompletedTask;
    }
}
