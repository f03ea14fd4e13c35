using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// EF's transaction object over a <see cref="ContextTransaction"/>. EF's own RelationalTransaction
/// does the work (its logging, its interceptors, ending the transaction with the context), and
/// calls the handle, which goes to Khonsu. Only what EF hands its commands differs: the provider's
/// transaction object (<see cref="ContextTransaction.ProviderTransaction"/>), since EF's SQLite and
/// Npgsql providers cast a command's transaction to their own type, and savepoints: EF sets them
/// with SQL of its own on the context's connection, which would reach one backend behind Khonsu's
/// back; here they are Khonsu's, on every backend the transaction touched.
/// </summary>
internal sealed class KhonsuRelationalTransaction(
    IRelationalConnection connection,
    ContextTransaction transaction,
    Guid transactionId,
    IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger,
    bool transactionOwned,
    ISqlGenerationHelper sqlGenerationHelper)
    : RelationalTransaction(connection, transaction, transactionId, logger, transactionOwned, sqlGenerationHelper), IInfrastructure<DbTransaction>
{
    // Re-implemented: GetDbTransaction() reads it, and EF sets each command's Transaction from it.
    DbTransaction IInfrastructure<DbTransaction>.Instance => transaction.ProviderTransaction!;

    public override bool SupportsSavepoints => true;

    public override void CreateSavepoint(string name) => transaction.Save(name);

    public override Task CreateSavepointAsync(string name, CancellationToken cancellationToken = default) => transaction.SaveAsync(name, cancellationToken);

    public override void RollbackToSavepoint(string name) => transaction.Rollback(name);

    public override Task RollbackToSavepointAsync(string name, CancellationToken cancellationToken = default) => transaction.RollbackAsync(name, cancellationToken);

    public override void ReleaseSavepoint(string name) => transaction.Release(name);

    public override Task ReleaseSavepointAsync(string name, CancellationToken cancellationToken = default) => transaction.ReleaseAsync(name, cancellationToken);
}
