using System.Data.Common;
using Khonsu.Data.Backends;

namespace Khonsu.Data.Diagnostics;

/// <summary>What telemetry says about a backend: computed once, from its first inner connection.</summary>
internal sealed record BackendIdentity(string Backend, string System, string Namespace, string? Address, int? Port)
{
    public static BackendIdentity Of(KhonsuBackend backend, DbConnection inner)
    {
        var system = backend.Kind.ToLowerInvariant() switch
        {
            "postgres" or "postgresql" => "postgresql",
            var other => other,
        };
        if (backend.DatabaseFilePath is { } file)
        {
            return new BackendIdentity(backend.Name, system, Path.GetFileName(file), null, null);
        }

        // Npgsql's DataSource reads "tcp://host:port"; nothing secret is in it.
        string? address = null;
        int? port = null;
        if (Uri.TryCreate(inner.DataSource, UriKind.Absolute, out var uri) && uri.Scheme == "tcp")
        {
            address = uri.Host;
            port = uri.Port;
        }

        return new BackendIdentity(backend.Name, system, string.IsNullOrEmpty(inner.Database) ? backend.Name : inner.Database, address, port);
    }
}
