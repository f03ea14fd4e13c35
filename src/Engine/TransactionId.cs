namespace Khonsu.Engine;

/// <summary>
/// Identifies one Khonsu transaction across every backend and the log. UUIDv7, so ids sort by
/// creation time, which keeps the log's tx_id index and a DBA's ORDER BY tx_id meaningful.
/// </summary>
public readonly record struct TransactionId(Guid Value) : IComparable<TransactionId>
{
    /// <summary>A new id: a UUIDv7, whose first 48 bits are the current Unix time in milliseconds.</summary>
    public static TransactionId New() => new(Guid.CreateVersion7());

    /// <summary>Reads an id as <see cref="ToString"/> writes it (any form <see cref="Guid.Parse(string)"/> reads).</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is no GUID.</exception>
    public static TransactionId Parse(string text) => new(Guid.Parse(text));

    /// <summary>Reads an id as <see cref="Parse"/> does, or returns false.</summary>
    public static bool TryParse(string? text, out TransactionId id)
    {
        var ok = Guid.TryParse(text, out var guid);
        id = new TransactionId(guid);
        return ok;
    }

    /// <summary>Orders ids as their GUIDs compare; for UUIDv7 ids, by creation time.</summary>
    public int CompareTo(TransactionId other) => Value.CompareTo(other.Value);

    /// <summary>
    /// When the transaction was created, by the clock of the process that created it (the
    /// millisecond timestamp a UUIDv7 starts with), or null for an id of another version.
    /// </summary>
    public DateTimeOffset? CreatedAt
    {
        get
        {
            Span<byte> bytes = stackalloc byte[16];
            Value.TryWriteBytes(bytes, bigEndian: true, out _);
            if (bytes[6] >> 4 != 7)
            {
                return null;
            }

            long milliseconds = 0;
            for (var i = 0; i < 6; i++)
            {
                milliseconds = (milliseconds << 8) | bytes[i];
            }

            return DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
        }
    }

    /// <summary>
    /// A text that sorts after the id (as <see cref="ToString"/> spells it) of every UUIDv7
    /// transaction created before <paramref name="time"/>, and before every one created at or after it:
    /// the id's first 12 hex digits, its millisecond timestamp. Ids as text in a SQL column then
    /// select by creation time through their primary key.
    /// </summary>
    internal static string TextBefore(DateTimeOffset time)
    {
        var hex = Math.Max(0, time.ToUnixTimeMilliseconds()).ToString("x12", System.Globalization.CultureInfo.InvariantCulture);
        return $"{hex[..8]}-{hex[8..]}";
    }

    /// <summary>The id as transaction_log and the commit log show it: the GUID's "D" form, lower case.</summary>
    public override string ToString() => Value.ToString("D");
}
