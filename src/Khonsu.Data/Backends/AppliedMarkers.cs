namespace Khonsu.Data.Backends;

/// <summary>
/// A backend's applied-marker table (SQLite <c>khonsu_applied</c>, PostgreSQL <c>khonsu.applied</c>):
/// a row that commits in the same local transaction as a transaction's writes there, so recovery can
/// tell a participant that committed from one that lost its local transaction. Recovery reads a
/// marker only while the transaction's commit decision has no end record; truncation
/// (<c>Runtime.TruncationSweeper</c>) deletes the others through this.
/// </summary>
public abstract class AppliedMarkers
{
    /// <summary>
    /// The markers committed when the call reads them, with a key greater than <paramref name="after"/>
    /// (all when null), in key order, at most <paramref name="limit"/>. Reads outside any transaction,
    /// so it sees only committed markers and takes no lock writers could wait for.
    /// </summary>
    public abstract ValueTask<IReadOnlyList<AppliedMarker>> ListAsync(string? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the markers with these keys, in one short local transaction; returns how many it
    /// deleted and how long it held the database's write lock (or row locks) for it, waits before excluded.
    /// </summary>
    public abstract ValueTask<(int Deleted, TimeSpan Held)> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}
