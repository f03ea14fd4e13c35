namespace Khonsu.Engine.Recovery;

/// <summary>What one recovery pass did.</summary>
internal sealed record RecoveryReport(int Committed, int Aborted, int InDoubt)
{
    public static RecoveryReport Empty { get; } = new(0, 0, 0);

    public bool DidAnything => Committed + Aborted + InDoubt > 0;
}
