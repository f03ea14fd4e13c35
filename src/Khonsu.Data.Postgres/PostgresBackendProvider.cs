using Khonsu.Data.Backends;
using Khonsu.Data.Postgres;
using Npgsql;

[assembly: KhonsuBackendProvider(typeof(PostgresBackendProvider))]

namespace Khonsu.Data.Postgres;

/// <summary>Creates PostgreSQL backends: <c>Khonsu:Postgres:Host=...</c> or <c>Postgres.name="Host=..."</c>.</summary>
public sealed class PostgresBackendProvider : KhonsuBackendProvider
{
    /// <inheritdoc/>
    public override string Kind => "Postgres";

    /// <inheritdoc/>
    public override KhonsuBackend CreateBackend(string name, string connectionString, KhonsuBackendOptions options)
    {
        // Throws ArgumentException naming the bad keyword.
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new ArgumentException("it names no Host.");
        }

        // Khonsu's connections tell the capture trigger who they are from their first message on,
        // and what they run outside a transaction, at READ COMMITTED, is not captured.
        builder.Options = $"{builder.Options} -c {PostgresSql.CaptureSetting}=on -c default_transaction_isolation=read\\ committed".Trim();
        // Khonsu takes part in a TransactionScope itself, once, for every backend (Enlist on the
        // Khonsu connection string); an inner connection that enlisted on its own would make the
        // scope's commit a second, uncoordinated one.
        builder.Enlist = false;
        return new PostgresBackend(name, NpgsqlDataSource.Create(builder), options);
    }
}
