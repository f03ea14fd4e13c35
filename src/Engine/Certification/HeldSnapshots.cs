namespace Khonsu.Engine.Certification;

/// <summary>
/// The snapshots live transactions hold, counted per place: what history must still be kept for,
/// and which writers a safe snapshot must wait for. Not thread-safe: its owner's lock guards it.
/// </summary>
internal sealed class HeldSnapshots
{
    private readonly SortedDictionary<long, int> _holders = [];

    public bool IsEmpty => _holders.Count == 0;

    /// <summary>The oldest snapshot held; only when not <see cref="IsEmpty"/>.</summary>
    public long Oldest => _holders.First().Key;

    public void Hold(long snapshot) => _holders[snapshot] = _holders.GetValueOrDefault(snapshot) + 1;

    /// <summary>Drops one holder of the snapshot; true when it was the last.</summary>
    public bool Release(long snapshot)
    {
        if (!_holders.TryGetValue(snapshot, out var count))
        {
            return false;
        }

        if (count > 1)
        {
            _holders[snapshot] = count - 1;
            return false;
        }

        _holders.Remove(snapshot);
        return true;
    }

    /// <summary>Whether a snapshot older than <paramref name="position"/> is held.</summary>
    public bool AnyBefore(long position) => !IsEmpty && Oldest < position;
}
