namespace Khonsu.Data.Backends;

/// <summary>Names the <see cref="KhonsuBackendProvider"/> of a backend assembly.</summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class KhonsuBackendProviderAttribute(Type providerType) : Attribute
{
    /// <summary>The assembly's <see cref="KhonsuBackendProvider"/> type.</summary>
    public Type ProviderType { get; } = providerType;
}
