namespace Khonsu.Checker.Checking;

/// <summary>One anomaly found: its name (<see cref="AnomalyNames"/>), the transactions involved, and how (a cycle's edges, or the offending read).</summary>
public sealed record Anomaly(string Name, IReadOnlyList<string> Transactions, string Explanation)
{
    public override string ToString() => $"{Name} ({AnomalyNames.Describe(Name)}): {Explanation}";
}
