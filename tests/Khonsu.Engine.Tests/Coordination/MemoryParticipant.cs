using Khonsu.Engine.Commit;

namespace Khonsu.Engine.Tests.Coordination;

/// <summary>An in-memory participant that records what the coordinator asked of it.</summary>
internal sealed class MemoryParticipant(string name, int writes = 1) : ITransactionParticipant
{
    public string Name { get; } = name;

    public List<string> Calls { get; } = [];

    public Exception? FailPrepare { get; set; }

    public Exception? FailCommit { get; set; }

    /// <summary>When set, prepare answers only once it completes: a participant still preparing.</summary>
    public Task? HoldPrepare { get; set; }

    /// <summary>When set, commit returns only once it completes: a participant still finishing.</summary>
    public Task? HoldCommit { get; set; }

    public ValueTask<ParticipantVote> PrepareAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        Calls.Add("prepare");
        if (FailPrepare is not null)
        {
            throw FailPrepare;
        }

        var rows = Enumerable.Range(1, writes).Select(i => new RowWrite("t", i.ToString(System.Globalization.CultureInfo.InvariantCulture), WriteKind.Update, 1, 2)).ToList();
        var vote = new ParticipantVote(Name, false, rows, ReadOnly: writes == 0);
        return HoldPrepare is null ? ValueTask.FromResult(vote) : AfterAsync(HoldPrepare, vote);
    }

    public ValueTask<ParticipantVote> PrepareOnePhaseAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        var vote = PrepareAsync(transactionId, async, cancellationToken);
        Calls[^1] = "prepare-one-phase";
        return vote;
    }

    public Exception? FailValidation { get; set; }

    public ValueTask ValidateReadsAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        Calls.Add("validate");
        return FailValidation is null ? ValueTask.CompletedTask : ValueTask.FromException(FailValidation);
    }

    public ValueTask CommitAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        Calls.Add("commit");
        return FailCommit is not null ? ValueTask.FromException(FailCommit) : HoldCommit is null ? ValueTask.CompletedTask : new ValueTask(HoldCommit);
    }

    public Exception? FailRollback { get; set; }

    public ValueTask RollbackAsync(TransactionId transactionId, bool async, CancellationToken cancellationToken)
    {
        Calls.Add("rollback");
        return FailRollback is null ? ValueTask.CompletedTask : ValueTask.FromException(FailRollback);
    }

    public ValueTask AbandonAsync(bool async, CancellationToken cancellationToken)
    {
        Calls.Add("abandon");
        return ValueTask.CompletedTask;
    }

    private static async ValueTask<T> AfterAsync<T>(Task hold, T result)
    {
        await hold;
        return result;
    }
}
