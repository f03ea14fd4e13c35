namespace Khonsu.Engine.Certification;

/// <summary>
/// Something a transaction read or wrote: a row (<see cref="Key"/> set) or, for a read, a whole
/// table (<see cref="Key"/> null: a predicate read, which every write to the table conflicts with).
/// </summary>
public readonly record struct ItemId(string Backend, string Table, string? Key)
{
    public bool IsTable => Key is null;

    public ItemId TableOf => this with { Key = null };

    public override string ToString() => Key is null ? $"{Backend}.{Table}" : $"{Backend}.{Table}[{Key}]";
}
