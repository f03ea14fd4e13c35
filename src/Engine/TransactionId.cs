namespace Khonsu.Engine;

/// <summary>
/// Identifies one Khonsu transaction across every backend and the log. UUIDv7, so ids sort by
/// creation time, which keeps the log's tx_id index and a DBA's ORDER BY tx_id meaningful.
/// </summary>
public readonly record struct TransactionId(Guid Value) : IComparable<TransactionId>
{
    public static TransactionId New() => new(Guid.CreateVersion7());

    public static TransactionId Parse(string text) => new(Guid.Parse(text));

    public static bool TryParse(string? text, out TransactionId id)
    {
        var ok = Guid.TryParse(text, out var guid);
        id = new TransactionId(guid);
        return ok;
    }

    public int CompareTo(TransactionId other) => Value.CompareTo(other.Value);

    public override string ToString() => Value.ToString("D");
}
