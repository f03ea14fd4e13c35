namespace Khonsu.Checker.Checking;

/// <summary>The checker's verdict on one history.</summary>
public sealed record CheckResult(
    int Committed,
    int Aborted,
    int Unknown,
    IReadOnlyList<Anomaly> Anomalies,
    IReadOnlyList<LostCommit> Lost,
    IReadOnlyList<PartialCommit> Partial)
{
    /// <summary>Aborted transactions that ran every planned op before failing (at commit): those <see cref="FalsePositives"/> is counted over.</summary>
    public int AbortedAtCommit { get; init; }

    /// <summary>
    /// Of <see cref="AbortedAtCommit"/>, how many would have left the committed history serializable
    /// had they committed at their commit attempt (no cycle through them, no write-write conflict):
    /// aborts a perfect certifier would not have made. See docs/checker.md, "False positives".
    /// </summary>
    public int FalsePositives { get; init; }

    /// <summary>No anomaly, no lost commit, no partial commit.</summary>
    public bool Valid => Anomalies.Count == 0 && Lost.Count == 0 && Partial.Count == 0;

    /// <summary>True when some anomaly of that name was found.</summary>
    public bool Has(string name) => Anomalies.Any(a => a.Name == name);

    /// <summary>Anomaly counts by name, e.g. "G2-item: 3, lost-update: 1".</summary>
    public string Summary()
        => Anomalies.Count == 0
            ? "none"
            : string.Join(", ", Anomalies.GroupBy(a => a.Name, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}: {g.Count()}"));
}
