using System.Data.Common;
using Khonsu.Data.Backends;

namespace Khonsu.Data.Prefetch;

/// <summary>
/// The result of one prefetched read, held until the application runs that statement or the
/// transaction drops it: its columns, its rows, and the tracker that records the rows as read
/// once (and only if) the application reads them.
/// </summary>
internal sealed class HeldResult
{
    private HeldResult(HeldColumn[] columns, List<object[]> rows, IRowReadTracker? tracker)
    {
        Columns = columns;
        Rows = rows;
        Tracker = tracker;
    }

    public IReadOnlyList<HeldColumn> Columns { get; }

    public IReadOnlyList<object[]> Rows { get; }

    /// <summary>The backend's tracker for these rows (learned from the live result), or null where the backend tracks none.</summary>
    public IRowReadTracker? Tracker { get; }

    /// <summary>
    /// Reads the current result set of <paramref name="reader"/> to its end; null when it has more
    /// than <paramref name="maxRows"/> rows (not worth holding: the rest is read and dropped).
    /// </summary>
    public static async Task<HeldResult?> ReadAsync(DbDataReader reader, BackendTransaction local, string sql, int maxRows, CancellationToken cancellationToken)
    {
        var columns = Enumerable.Range(0, reader.FieldCount)
            .Select(i => new HeldColumn(reader.GetName(i), reader.GetFieldType(i), reader.GetDataTypeName(i)))
            .ToArray();
        var rows = new List<object[]>();
        IRowReadTracker? tracker = null;
        var tooMany = false;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (rows.Count == 0)
            {
                tracker = local.TrackReads(reader, sql);
            }

            if (rows.Count >= maxRows)
            {
                tooMany = true;
                continue;
            }

            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(values);
        }

        return tooMany ? null : new HeldResult(columns, rows, tracker);
    }

    public DbDataReader Open() => new HeldResultReader(this);
}

/// <summary>A column of a held result, as the live reader described it.</summary>
internal sealed record HeldColumn(string Name, Type FieldType, string DataTypeName);
