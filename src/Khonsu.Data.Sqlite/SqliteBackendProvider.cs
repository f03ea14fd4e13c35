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

        // Khonsu keeps one catalog, one commit log and one recovery per database for all the
        // connections of a connection string. A private in-memory database is a different database
        // for each connection: one connection's DDL would change what Khonsu believes every other
        // connection's database holds. A shared-cache one is a single database, which Khonsu serves.
        var inMemory = builder.Mode == SqliteOpenMode.Memory || builder.DataSource.Equals(":memory:", StringComparison.OrdinalIgnoreCase);
        if (inMemory && builder.Cache != SqliteCacheMode.Shared)
        {
            throw new ArgumentException(
                "it names a private in-memory database, which each connection would have to itself; Khonsu needs one database that every connection of the string sees: add 'Cache=Shared' (e.g. 'Data Source=app;Mode=Memory;Cache=Shared') or use a file.");
        }

        // Khonsu pools nothing itself; Microsoft.Data.Sqlite's pool keeps the per-handle capture objects warm.
        return new SqliteBackend(name, builder.ConnectionString, builder.DataSource, options);
    }
}
