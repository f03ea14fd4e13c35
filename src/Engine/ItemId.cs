namespace Khonsu.Engine;

/// <summary>
/// Something a transaction read or wrote: a row (<see cref="Key"/> set) or, for a read, a whole
/// table (<see cref="Key"/> null: a predicate read, which every write to the table conflicts with).
/// </summary>
/// <remarks>
/// The certifier looks items up in hash tables several times per certification (deduplicating,
/// probing, indexing, forgetting), so an item hashes its names once, when it is made, and keeps the
/// hash of its table too: <see cref="TableOf"/>, which every indexed write asks for, costs no
/// hashing. <c>with</c> recomputes both.
/// </remarks>
public readonly record struct ItemId
{
    private const string AnyTable = "*";

    private readonly string _backend;
    private readonly string _table;
    private readonly string? _key;
    private readonly int _tableHash;
    private readonly int _hash;

    /// <summary>An item; names are taken as given (see <see cref="Of"/> for the folded spelling the certifier compares).</summary>
    public ItemId(string Backend, string Table, string? Key)
        : this(Backend, Table, Key, TableHash(Backend, Table))
    {
    }

    private ItemId(string backend, string table, string? key, int tableHash)
    {
        _backend = backend;
        _table = table;
        _key = key;
        _tableHash = tableHash;
        _hash = key is null ? tableHash : HashCode.Combine(tableHash, key);
    }

    /// <summary>The backend's name.</summary>
    public string Backend
    {
        get => _backend;
        init => this = new ItemId(value, _table, _key);
    }

    /// <summary>The table's name.</summary>
    public string Table
    {
        get => _table;
        init => this = new ItemId(_backend, value, _key);
    }

    /// <summary>The row's key as text, or null for the whole table.</summary>
    public string? Key
    {
        get => _key;
        init => this = new ItemId(_backend, _table, value, _tableHash);
    }

    /// <summary>Whether this is a whole table (a predicate read), not one row.</summary>
    public bool IsTable => _key is null;

    /// <summary>A read of something on the backend that is not a known table (a view, a function): any write there conflicts.</summary>
    public bool IsAnyTable => _key is null && _table == AnyTable;

    /// <summary>Any table of this item's backend (see <see cref="IsAnyTable"/>).</summary>
    public ItemId AnyTableOfBackend => new(_backend, AnyTable, null);

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
    public ItemId TableOf => _key is null ? this : new ItemId(_backend, _table, null, _tableHash);

    /// <summary>Whether both name the same row, or the same table, by the same spelling.</summary>
    public bool Equals(ItemId other)
        => _hash == other._hash
            && string.Equals(_key, other._key, StringComparison.Ordinal)
            && string.Equals(_table, other._table, StringComparison.Ordinal)
            && string.Equals(_backend, other._backend, StringComparison.Ordinal);

    /// <summary>The hash computed when the item was made.</summary>
    public override int GetHashCode() => _hash;

    /// <summary>Its backend, table and key, as the constructor takes them.</summary>
    public void Deconstruct(out string Backend, out string Table, out string? Key)
    {
        Backend = _backend;
        Table = _table;
        Key = _key;
    }

    /// <summary><c>backend.table</c>, or <c>backend.table[key]</c> for a row.</summary>
    public override string ToString() => _key is null ? $"{_backend}.{_table}" : $"{_backend}.{_table}[{_key}]";

    private static int TableHash(string backend, string table) => HashCode.Combine(backend, table);
}
