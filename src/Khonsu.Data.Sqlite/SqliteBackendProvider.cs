using Khonsu.Data.Backends;
using Khonsu.Data.Sqlite;
using Microsoft.Data.Sqlite;

[assembly: KhonsuBackendProvider(typeof(SqliteBackendProvider))]

namespace Khonsu.Data.Sqlite;

/// <summary>Creates SQLite backends: <c>Khonsu:Sqlite:Data Source=app.db</c> or <c>Sqlite.name="Data Source=..."</c>.</summary>
public sealed class SqliteBackendProvider : KhonsuBackendProvider
{
    /// <inheritdoc/>
    public override string Kind => "Sqlite";

    /// <inheritdoc/>
    public override KhonsuBackend CreateBackend(string name, string connectionString, KhonsuBackendOptions options)
    {
        // Throws ArgumentException naming the bad keyword, never its value.
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException("it names no Data Source.");
        }

        // Khonsu pools nothing itself; Microsoft.Data.Sqlite's pool keeps the per-handle capture objects warm.
        return new SqliteBackend(name, builder.ConnectionString, builder.DataSource, options);
    }
}
