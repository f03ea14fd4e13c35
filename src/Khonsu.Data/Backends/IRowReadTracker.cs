using System.Data.Common;

namespace Khonsu.Data.Backends;

/// <summary>Records the rows of one result set that a transaction reads, for validation at commit.</summary>
public interface IRowReadTracker
{
    /// <summary>Called for each row the application reads; the reader is positioned on it.</summary>
    void OnRow(DbDataReader reader);

    /// <summary>The tables whose rows this result set carries with key and version: read row by row, not as a whole.</summary>
    IReadOnlyCollection<string> Tables { get; }
}
