using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// Gives a transaction begun through EF on a Khonsu backend (a <see cref="ContextTransaction"/>,
/// from <see cref="KhonsuTransactionInterceptor"/>) EF's transaction object over it; any other
/// transaction gets EF's usual one.
/// </summary>
internal sealed class KhonsuRelationalTransactionFactory(RelationalTransactionFactoryDependencies dependencies) : RelationalTransactionFactory(dependencies)
{
    public override RelationalTransaction Create(
        IRelationalConnection connection,
        DbTransaction transaction,
        Guid transactionId,
        IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger,
        bool transactionOwned)
        => transaction is ContextTransaction khonsu
            ? new KhonsuRelationalTransaction(connection, khonsu, transactionId, logger, transactionOwned, Dependencies.SqlGenerationHelper)
            : base.Create(connection, transaction, transactionId, logger, transactionOwned);
}
