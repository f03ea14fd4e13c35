namespace Khonsu.Data.Backends;

/// <summary>Names the <see cref="KhonsuBackendProvider"/> of a backend assembly.</summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class KhonsuBackendProviderAttribute(Type providerType) : Attribute
{
    public Type ProviderType { get; } = providerType;
}
