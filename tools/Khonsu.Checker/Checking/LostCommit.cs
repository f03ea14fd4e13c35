namespace Khonsu.Checker.Checking;

/// <summary>An acknowledged commit whose writes are absent from the databases.</summary>
public sealed record LostCommit(string TransactionId, IReadOnlyList<string> MissingKeys)
{
    public override string ToString() => $"lost commit {TransactionId}: acknowledged, but its writes of {string.Join(", ", MissingKeys)} are absent";
}
