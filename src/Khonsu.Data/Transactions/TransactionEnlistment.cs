using System.Data;
using System.Data.Common;
using Khonsu.Data.Backends;

namespace Khonsu.Data.Transactions;

/// <summary>
/// Begins a <see cref="KhonsuTransaction"/>'s local transaction on a backend when a statement first
/// reaches it: takes its snapshot position there, gives it what it needs to know of the rest of
/// the transaction (<see cref="ParticipantContext"/>), and adds it to the participants.
/// </summary>
internal sealed class TransactionEnlistment(KhonsuTransaction transaction, KhonsuConnection connection)
{
    /// <summary>The local transaction on <paramref name="backend"/>, begun on first use.</summary>
    public async ValueTask<BackendTransaction> EnlistAsync(KhonsuBackend backend, DbConnection inner, CancellationToken cancellationToken)
    {
        transaction.Completion.EnsureActive();
        var participants = transaction.Participants;
        if (participants.Find(backend) is { } participant)
        {
            return participant;
        }

        var snapshots = transaction.Snapshots;
        if (backend.BeginTakesSnapshot)
        {
            snapshots.TakeOn(backend.Name);
        }

        var runtime = connection.Runtime;
        var local = await backend.BeginTransactionAsync(inner, transaction.Id, LocalIsolation, cancellationToken).ConfigureAwait(false);
        var certifier = runtime.Certifier;
        var id = transaction.Id;
        local.Context = new ParticipantContext(
            runtime.Ages,
            transaction.Retry.Age,
            runtime.Settings.LockTimeout,
            () => participants.OthersMayHoldHiddenLocks(local),
            () => snapshots.TakeOn(backend.Name),
            () => certifier.FinishedOn(id, backend.Name),
            () => transaction.Reads.ReadsWholeTablesOn(backend.Name));
        participants.Add(local);
        snapshots.ParticipantBegun();
        return local;
    }

    /// <summary>
    /// The level of the backends' local transactions. A deferrable transaction's safe snapshot needs
    /// no read tracking or validation of its own, unless a shared log certifies it all the same.
    /// </summary>
    private IsolationLevel LocalIsolation
        => transaction.IsDeferrable && connection.Runtime.Coordinator.Certification.TrustsSafeSnapshots ? IsolationLevel.Snapshot : transaction.IsolationLevel;
}
