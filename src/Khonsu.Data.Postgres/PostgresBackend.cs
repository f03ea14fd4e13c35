using System.Data;
using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Engine;
using Khonsu.Engine.Recovery;
using Npgsql;

namespace Khonsu.Data.Postgres;

/// <summary>A PostgreSQL database as a Khonsu backend.</summary>
internal sealed class PostgresBackend(string name, NpgsqlDataSource dataSource, KhonsuBackendOptions options) : KhonsuBackend(name, options)
{
    public override string Kind => "Postgres";

    /// <summary>An error aborts the whole transaction ("current transaction is aborted") until a savepoint is rolled back to.</summary>
    internal override bool StatementErrorAbortsTransaction => true;

    public override DbConnection CreateConnection() => dataSource.CreateConnection();

    public override ValueTask OpenConnectionAsync(DbConnection connection, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            return new(connection.OpenAsync(cancellationToken));
        }

        connection.Open();
        return ValueTask.CompletedTask;
    }

    public override ValueTask InstallSchemaAsync(DbConnection connection, BackendTransaction? transaction, CancellationToken cancellationToken)
        => PostgresSchemaInstaller.InstallAsync((NpgsqlConnection)connection, inTransaction: transaction is not null, Options, cancellationToken);

    public override async ValueTask<BackendCatalog> LoadCatalogAsync(DbConnection connection, BackendTransaction? transaction, CancellationToken cancellationToken)
    {
        var catalog = await PostgresCatalogReader.ReadAsync((NpgsqlConnection)connection, Options, cancellationToken).ConfigureAwait(false);
        ReadShapes = new PostgresReadShapes(catalog.TablesByOid);
        _generatedKeyConstraints = catalog.Catalog.Tables
            .Where(t => t.KeyIsGenerated && t.KeyConstraint is not null)
            .ToDictionary(t => (t.Schema ?? "public", t.Name), t => t.KeyConstraint!);
        return catalog.Catalog;
    }

    private Dictionary<(string Schema, string Table), string> _generatedKeyConstraints = [];

    /// <summary>The primary key constraint of a table whose key PostgreSQL generates, or null.</summary>
    internal string? GeneratedKeyConstraintOf(string? schema, string table)
        => _generatedKeyConstraints.GetValueOrDefault((schema ?? "public", table));

    /// <summary>Which result columns carry a tracked table's key and version, per SQL text; replaced when the catalog changes.</summary>
    internal PostgresReadShapes ReadShapes { get; private set; } = new(new Dictionary<uint, PostgresTableKey>());

    /// <summary>What reading statements read, from their plans (asked once per SQL text by the router).</summary>
    internal PostgresStatementReads ReadProbe { get; } = new();

    public override async ValueTask<BackendTransaction> BeginTransactionAsync(
        DbConnection connection, TransactionId transactionId, IsolationLevel isolationLevel, CancellationToken cancellationToken)
    {
        // REPEATABLE READ: one snapshot for the whole transaction, and first-updater-wins on rows;
        // SERIALIZABLE on request adds PostgreSQL's own predicate locks for Serializable ones.
        // Npgsql sends the BEGIN with the transaction's first statement, which takes the snapshot
        // (see BeginTakesSnapshot): no round trip of its own.
        var level = Options.DatabaseSerializable && isolationLevel == IsolationLevel.Serializable ? IsolationLevel.Serializable : IsolationLevel.RepeatableRead;
        await ((NpgsqlConnection)connection).BeginTransactionAsync(level, cancellationToken).ConfigureAwait(false);
        return new PostgresBackendTransaction(this, (NpgsqlConnection)connection, transactionId, validateReads: isolationLevel != IsolationLevel.Snapshot);
    }

    /// <summary>The snapshot is taken by the first statement, which carries the BEGIN; the participant says when (<see cref="ParticipantContext.SnapshotStarting"/>).</summary>
    public override bool BeginTakesSnapshot => false;

    /// <summary>REPEATABLE READ reports a concurrent update on the statement that meets it (SQLSTATE 40001 from the executor).</summary>
    public override bool ResolvesWriteConflicts => true;

    public override TransactionLogTables TransactionLogTables => PostgresTransactionLogTables.Instance;

    public override IRecoverableResource CreateRecoveryResource() => new PostgresRecoveryResource(this, dataSource);

    public override LogOwnerTable LogOwnerTable => PostgresLogOwnerTable.Instance;

    public override AppliedMarkers AppliedMarkers => field ??= new PostgresAppliedMarkers(dataSource);

    /// <summary>Closes the pool: its idle connections would otherwise stay open on the server until their idle lifetime ends.</summary>
    public override async ValueTask DisposeAsync()
    {
        await dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
