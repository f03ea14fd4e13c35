namespace Khonsu.Data.Backends;

/// <summary>
/// Creates backends of one kind ("Sqlite", "Postgres"). A backend package declares its provider
/// with <see cref="KhonsuBackendProviderAttribute"/>; Khonsu finds it by the package's assembly
/// name (Khonsu.Data.&lt;Kind&gt;), so referencing the package is all an application does.
/// </summary>
public abstract class KhonsuBackendProvider
{
    /// <summary>The kind as written in connection strings, e.g. "Sqlite".</summary>
    public abstract string Kind { get; }

    /// <summary>
    /// Creates a backend. Throws <see cref="ArgumentException"/> when the inner connection string
    /// is invalid; the message must not contain the connection string's values.
    /// </summary>
    public abstract KhonsuBackend CreateBackend(string name, string connectionString, KhonsuBackendOptions options);
}
