namespace Khonsu.Engine.Certification;

/// <summary>
/// A transaction's place in certification order, and a snapshot as the last place it saw. Not a
/// log position: the embedded log's certifier numbers the transactions it certifies itself (read-only
/// ones included, which leave no record), and a shared log's certifier counts from one where the
/// log's offsets count from zero (see <see cref="Start"/>). Certification compares these only with
/// each other.
/// </summary>
internal readonly record struct CertificationSequence(long Value) : IComparable<CertificationSequence>
{
    /// <summary>Before every certified transaction: a snapshot that saw nothing.</summary>
    public static CertificationSequence Start => new(0);

    public int CompareTo(CertificationSequence other) => Value.CompareTo(other.Value);

    public static bool operator <(CertificationSequence left, CertificationSequence right) => left.Value < right.Value;

    public static bool operator >(CertificationSequence left, CertificationSequence right) => left.Value > right.Value;

    public static bool operator <=(CertificationSequence left, CertificationSequence right) => left.Value <= right.Value;

    public static bool operator >=(CertificationSequence left, CertificationSequence right) => left.Value >= right.Value;

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
