namespace Khonsu.Engine.Commit;

/// <summary>
/// One row a transaction changed, as the database captured it. <paramref name="Key"/> is the
/// row's primary key in canonical text form (see <see cref="RowKey"/>). The versions are the
/// row's version column before the transaction first touched it and after its last change
/// (null where the row did not exist). <paramref name="Image"/> holds the full new row (or the
/// key columns for a delete) only where the backend needs redo, as SQLite does.
/// </summary>
public sealed record RowWrite(
    string Table,
    string Key,
    WriteKind Kind,
    long? OldVersion,
    long? NewVersion,
    RowImage? Image = null)
{
    /// <summary>
    /// The row's table has the Replace conflict policy: the write landed on the newest committed
    /// row (last writer wins), so a concurrent committed write of the same row is no write-write
    /// conflict for the certifier. Read-write conflicts still count.
    /// </summary>
    public bool LastWriterWins { get; init; }
}
