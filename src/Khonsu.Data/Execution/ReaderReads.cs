using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;

namespace Khonsu.Data.Execution;

/// <summary>
/// What a transaction reads through one statement's reader, result set by result set: at the first
/// read of each, a tracker for its rows where the backend can tell them apart, and whole-table reads
/// of every table it could have read otherwise (see <see cref="Transactions.ReadSet.RecordTableReads"/>).
/// A point lookup of several keys that returns fewer rows missed a key, which a concurrent insert
/// may fill: when the application moves past such a result set, its table counts as read whole.
/// </summary>
/// <param name="trackReads">How a result set's rows are tracked; null: by the participant (<see cref="BackendTransaction.TrackReads"/>). A held prefetch brings the tracker its live result gave.</param>
internal sealed class ReaderReads(KhonsuTransaction transaction, BackendTransaction local, RouteDecision route, string sql, Func<DbDataReader, IRowReadTracker?>? trackReads = null)
{
    private State _state;
    private IRowReadTracker? _tracker;
    private int _rows;

    private enum State
    {
        NotRead,
        Reading,
        Ended,
    }

    /// <summary>After each Read of the current result set: <paramref name="hasRow"/> says whether it gave a row.</summary>
    public void OnRead(DbDataReader reader, bool hasRow)
    {
        if (_state == State.Ended)
        {
            return;
        }

        if (_state == State.NotRead)
        {
            _state = State.Reading;
            _tracker = hasRow ? (trackReads is null ? local.TrackReads(reader, sql) : trackReads(reader)) : null;
            // A lookup of no key at all (an empty array of keys) can match no row, whatever is inserted.
            transaction.Reads.RecordTableReads(route, route.PointKeys == 0 ? route.ReadTables : _tracker?.Tables ?? []);
        }

        if (!hasRow)
        {
            EndResultSet();
            return;
        }

        _rows++;
        _tracker?.OnRow(reader);
    }

    /// <summary>The application is done with the current result set (it read past its end, moved to the next, or closed the reader).</summary>
    public void EndResultSet()
    {
        if (_state == State.Reading && route.PointKeys > _rows)
        {
            transaction.Reads.RecordTableReads(route, []);
        }

        _state = State.Ended;
        _tracker = null;
    }

    /// <summary>The reader moved to its next result set, which is read afresh.</summary>
    public void NextResultSet()
    {
        EndResultSet();
        _state = State.NotRead;
        _rows = 0;
    }
}
