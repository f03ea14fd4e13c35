namespace Khonsu.Engine.Log;

/// <summary>Names the <see cref="ICommitLogProvider"/> of a commit-log assembly (see <see cref="ICommitLogProvider"/>).</summary>
[AttributeUsage(AttributeTargets.Assembly)]
internal sealed class CommitLogProviderAttribute(Type providerType) : Attribute
{
    public Type ProviderType { get; } = providerType;
}
