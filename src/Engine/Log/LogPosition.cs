namespace Khonsu.Engine.Log;

/// <summary>A record's place in the log; the order of commit records is the commit order.</summary>
internal readonly record struct LogPosition(long Value) : IComparable<LogPosition>
{
    public static LogPosition Start => new(0);

    public int CompareTo(LogPosition other) => Value.CompareTo(other.Value);

    public static bool operator <(LogPosition left, LogPosition right) => left.Value < right.Value;

    public static bool operator >(LogPosition left, LogPosition right) => left.Value > right.Value;

    public static bool operator <=(LogPosition left, LogPosition right) => left.Value <= right.Value;

    public static bool operator >=(LogPosition left, LogPosition right) => left.Value >= right.Value;

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
