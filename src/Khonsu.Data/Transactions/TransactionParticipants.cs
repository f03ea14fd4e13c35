using Khonsu.Data.Backends;
using Khonsu.Engine;

namespace Khonsu.Data.Transactions;

/// <summary>
/// The backends' local transactions of one <see cref="KhonsuTransaction"/>, in the order they were
/// begun, and its savepoints. A savepoint remembers how many participants existed when it was set,
/// since a backend first touched after it has no such savepoint and must roll back entirely.
/// </summary>
internal sealed class TransactionParticipants
{
    private readonly List<BackendTransaction> _all = [];
    private readonly List<(string Name, int Participants)> _savepoints = [];

    /// <summary>In enlistment order, which savepoint rollback relies on (see <see cref="RollbackToAsync"/>).</summary>
    public IReadOnlyList<BackendTransaction> All => _all;

    public int Count => _all.Count;

    /// <summary>Row-level reads the participants tracked themselves, for certification.</summary>
    public IEnumerable<ItemId> RowReads => _all.SelectMany(p => p.RowReads);

    public BackendTransaction? Find(KhonsuBackend backend) => _all.Find(p => p.Backend == backend);

    public bool HasOn(KhonsuBackend backend) => _all.Exists(p => p.Backend == backend);

    public void Add(BackendTransaction local) => _all.Add(local);

    /// <summary>Whether another participant may hold locks a backend's lock wait cannot see (see <see cref="ParticipantContext.OthersMayHoldHiddenLocks"/>).</summary>
    public bool OthersMayHoldHiddenLocks(BackendTransaction local) => _all.Exists(other => other != local && other.MayHoldHiddenLocks);

    /// <summary>Forgets participants already rolled back (an unsafe snapshot attempt).</summary>
    public void Clear() => _all.Clear();

    /// <summary>A savepoint on every backend touched so far.</summary>
    public async Task SaveAsync(string name, bool async, CancellationToken cancellationToken)
    {
        foreach (var participant in _all)
        {
            await participant.SaveAsync(name, async, cancellationToken).ConfigureAwait(false);
        }

        _savepoints.Add((name, _all.Count));
    }

    /// <summary>
    /// Back to the savepoint on the backends touched before it, and entirely on backends first
    /// touched after it (their next statement begins afresh, so they are dropped).
    /// </summary>
    public async Task RollbackToAsync(string name, TransactionId id, bool async, CancellationToken cancellationToken)
    {
        var index = Find(name, id);
        var touchedBefore = _savepoints[index].Participants;
        for (var i = 0; i < touchedBefore; i++)
        {
            await _all[i].RollbackToAsync(name, async, cancellationToken).ConfigureAwait(false);
        }

        for (var i = _all.Count - 1; i >= touchedBefore; i--)
        {
            await _all[i].RollbackAsync(id, async, cancellationToken).ConfigureAwait(false);
            _all.RemoveAt(i);
        }

        _savepoints.RemoveRange(index + 1, _savepoints.Count - index - 1);
    }

    public async Task ReleaseAsync(string name, TransactionId id, bool async, CancellationToken cancellationToken)
    {
        var index = Find(name, id);
        for (var i = 0; i < _savepoints[index].Participants; i++)
        {
            await _all[i].ReleaseAsync(name, async, cancellationToken).ConfigureAwait(false);
        }

        _savepoints.RemoveRange(index, _savepoints.Count - index);
    }

    /// <summary>The latest savepoint of that name, as SQL nests them.</summary>
    private int Find(string name, TransactionId id)
    {
        var index = _savepoints.FindLastIndex(s => s.Name == name);
        return index >= 0 ? index : throw new InvalidOperationException($"Transaction {id} has no savepoint named '{name}'.");
    }
}
