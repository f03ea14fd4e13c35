using System.Data.Common;

namespace Khonsu.Data;

/// <summary>
/// Khonsu's provider factory, registrable under the invariant name "Khonsu":
/// <c>DbProviderFactories.RegisterFactory("Khonsu", KhonsuProviderFactory.Instance)</c>.
/// </summary>
public sealed class KhonsuProviderFactory : DbProviderFactory
{
    /// <summary>The invariant name Khonsu registers under with <see cref="DbProviderFactories"/>: "Khonsu".</summary>
    public const string InvariantName = "Khonsu";

    /// <summary>The one instance of the factory.</summary>
    public static readonly KhonsuProviderFactory Instance = new();

    private KhonsuProviderFactory()
    {
    }

    /// <summary>Registers this factory with <see cref="DbProviderFactories"/> under "Khonsu".</summary>
    public static void Register() => DbProviderFactories.RegisterFactory(InvariantName, Instance);

    /// <inheritdoc/>
    public override DbConnection CreateConnection() => new KhonsuConnection();

    /// <inheritdoc/>
    public override DbCommand CreateCommand() => new KhonsuCommand();

    /// <inheritdoc/>
    public override bool CanCreateBatch => true;

    /// <inheritdoc/>
    public override DbBatch CreateBatch() => new KhonsuBatch();

    /// <inheritdoc/>
    public override DbBatchCommand CreateBatchCommand() => new KhonsuBatchCommand();

    /// <inheritdoc/>
    public override DbParameter CreateParameter() => new KhonsuParameter();

    /// <inheritdoc/>
    public override bool CanCreateCommandBuilder => true;

    /// <inheritdoc/>
    public override DbCommandBuilder CreateCommandBuilder() => new KhonsuCommandBuilder();

    /// <inheritdoc/>
    public override bool CanCreateDataAdapter => true;

    /// <inheritdoc/>
    public override DbDataAdapter CreateDataAdapter() => new KhonsuDataAdapter();

    /// <summary>Creates a plain <see cref="DbConnectionStringBuilder"/>: Khonsu's connection string keys are not typed properties.</summary>
    public override DbConnectionStringBuilder CreateConnectionStringBuilder() => new();

    /// <inheritdoc/>
    public override DbDataSource CreateDataSource(string connectionString) => KhonsuDataSource.Create(connectionString);
}
