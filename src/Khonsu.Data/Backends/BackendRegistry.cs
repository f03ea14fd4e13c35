using System.Collections.Concurrent;
using System.Reflection;

namespace Khonsu.Data.Backends;

/// <summary>
/// Finds the provider of a backend kind by convention: the assembly Khonsu.Data.&lt;Kind&gt;,
/// which an application has once it references the backend's package.
/// </summary>
internal static class BackendRegistry
{
    private static readonly ConcurrentDictionary<string, KhonsuBackendProvider> Providers = new(StringComparer.OrdinalIgnoreCase);

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["PostgreSQL"] = "Postgres",
        ["Npgsql"] = "Postgres",
        ["Pg"] = "Postgres",
        ["Sqlite3"] = "Sqlite",
    };

    /// <summary>Registers a provider explicitly, for backends whose assembly does not follow the naming convention.</summary>
    public static void Register(KhonsuBackendProvider provider) => Providers[provider.Kind] = provider;

    public static KhonsuBackendProvider Resolve(string kind, string key)
    {
        var canonical = Aliases.GetValueOrDefault(kind, kind);
        return Providers.GetOrAdd(canonical, k => Load(k, key));
    }

    private static KhonsuBackendProvider Load(string kind, string key)
    {
        var assemblyName = "Khonsu.Data." + kind;
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(assemblyName));
        }
        catch (Exception error) when (error is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new KhonsuException(
                $"Key '{key}': there is no Khonsu backend for '{kind}'. Reference the package {assemblyName} (known kinds: Sqlite, Postgres).", error);
        }

        var attribute = assembly.GetCustomAttribute<KhonsuBackendProviderAttribute>()
            ?? throw new KhonsuException($"Key '{key}': assembly {assemblyName} declares no [assembly: KhonsuBackendProvider(...)].");
        return (KhonsuBackendProvider)Activator.CreateInstance(attribute.ProviderType)!;
    }
}
