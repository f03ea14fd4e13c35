namespace Khonsu.Engine;

/// <summary>
/// Something a transaction read or wrote: a row (<see cref="Key"/> set) or, for a read, a whole
/// table (<see cref="Key"/> null: a predicate read, which every write to the table conflicts with).
/// </summary>
public readonly record struct ItemId(string Backend, string Table, string? Key)
{
    private const string AnyTable = "*";

    /// <summary>Whether this is a whole table (a predicate read), not one row.</summary>
    public bool IsTable => Key is null;

    /// <summary>A read of something on the backend that is not a known table (a view, a function): any write there conflicts.</summary>
    public bool IsAnyTable => Key is null && Table == AnyTable;

    /// <summary>Any table of this item's backend (see <see cref="IsAnyTable"/>).</summary>
    public ItemId AnyTableOfBackend => new(Backend, AnyTable, null);

    /// <summary>Any table of <paramref name="backend"/> (see <see cref="IsAnyTable"/>).</summary>
    public static ItemId AnyTableOf(string backend) => new(backend.ToLowerInvariant(), AnyTable, null);

    /// <summary>
    /// An item with its names folded to one spelling (lower case, table without schema) so that a
    /// read and a write of the same row meet whichever way they named it; distinct tables that fold
    /// together only add conflicts.
    /// </summary>
    public static ItemId Of(string backend, string table, string? key = null)
    {
        var dot = table.LastIndexOf('.');
        return new ItemId(backend.ToLowerInvariant(), (dot >= 0 ? table[(dot + 1)..] : table).ToLowerInvariant(), key);
    }

    /// <summary>The whole table this row is in (itself when it is a table).</summary>
    public ItemId TableOf => this with { Key = null };

    /// <summary><c>backend.table</c>, or <c>backend.table[key]</c> for a row.</summary>
    public override string ToString() => Key is null ? $"{Backend}.{Table}" : $"{Backend}.{Table}[{Key}]";
}
