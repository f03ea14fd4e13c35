namespace Khonsu.Checker.Checking;

/// <summary>A transaction whose writes are present on some backends (or keys) and absent from others.</summary>
public sealed record PartialCommit(string TransactionId, IReadOnlyList<string> PresentKeys, IReadOnlyList<string> MissingKeys, IReadOnlyList<string> PresentBackends, IReadOnlyList<string> MissingBackends)
{
    public override string ToString()
        => $"partial commit {TransactionId}: present on [{string.Join(", ", PresentBackends)}] ({string.Join(", ", PresentKeys)}), absent on [{string.Join(", ", MissingBackends)}] ({string.Join(", ", MissingKeys)})";
}
