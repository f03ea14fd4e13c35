using System.Data.Common;

namespace Khonsu.Data;

/// <summary>
/// Khonsu's provider factory, registrable under the invariant name "Khonsu":
/// <c>DbProviderFactories.RegisterFactory("Khonsu", KhonsuProviderFactory.Instance)</c>.
/// </summary>
public sealed class KhonsuProviderFactory : DbProviderFactory
{
    public const string InvariantName = "Khonsu";

    public static readonly KhonsuProviderFactory Instance = new();

    private KhonsuProviderFactory()
    {
    }

    /// <summary>Registers this factory with <see cref="DbProviderFactories"/> under "Khonsu".</summary>
    public static void Register() => DbProviderFactories.RegisterFactory(InvariantName, Instance);

    public override DbConnection CreateConnection() => new KhonsuConnection();

    public override DbCommand CreateCommand() => new KhonsuCommand();

    public override bool CanCreateBatch => true;

    public override DbBatch CreateBatch() => new KhonsuBatch();

    public override DbBatchCommand CreateBatchCommand() => new KhonsuBatchCommand();

    public override DbParameter CreateParameter() => new KhonsuParameter();

    public override bool CanCreateCommandBuilder => true;

    public override DbCommandBuilder CreateCommandBuilder() => new KhonsuCommandBuilder();

    public override bool CanCreateDataAdapter => true;

    public override DbDataAdapter CreateDataAdapter() => new KhonsuDataAdapter();

    public override DbConnectionStringBuilder CreateConnectionStringBuilder() => new();

    public override DbDataSource CreateDataSource(string connectionString) => KhonsuDataSource.Create(connectionString);
}
