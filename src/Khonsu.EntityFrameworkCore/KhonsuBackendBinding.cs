using System.Data.Common;
using Khonsu.Data;
using Khonsu.Data.Backends;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// One DbContext's tie to Khonsu: the Khonsu connection whose transaction its commands join, and
/// the backend whose provider connection EF runs on.
/// </summary>
internal sealed class KhonsuBackendBinding(KhonsuConnection connection, string backendName)
{
    public KhonsuConnection Connection { get; } = connection;

    public KhonsuBackend Backend => Connection.Runtime.Backends.FirstOrDefault(b => b.Name.Equals(backendName, StringComparison.OrdinalIgnoreCase))
        ?? throw new KhonsuException($"The Khonsu connection has no backend named '{backendName}'.");

    /// <summary>The Khonsu transaction in progress on the connection, if any.</summary>
    public KhonsuTransaction? Transaction => Connection.CurrentTransaction;

    /// <summary>
    /// Enlists the command in the Khonsu transaction in progress: begins the backend's local
    /// transaction on first use, hands the command its inner transaction object, and bounds lock
    /// waits when the transaction spans several backends.
    /// </summary>
    public async ValueTask<BackendTransaction?> EnlistAsync(DbCommand command, CancellationToken cancellationToken)
    {
        if (Transaction is not { } transaction)
        {
            return null;
        }

        var backend = Backend;
        var inner = await Connection.GetInnerConnectionAsync(backend, cancellationToken).ConfigureAwait(false);
        if (!ReferenceEquals(inner, command.Connection))
        {
            throw new InvalidOperationException(
                $"This DbContext runs on another connection than the Khonsu connection's '{backend.Name}' backend: build it with the connection from GetBackendConnectionAsync.");
        }

        var local = await transaction.EnlistAsync(backend, inner, cancellationToken).ConfigureAwait(false);
        transaction.Record(backend.Name, command.CommandText);
        command.Transaction = local.InnerTransaction;
        await local.BeforeStatementAsync(command, transaction.SpansSeveralBackends, cancellationToken).ConfigureAwait(false);
        return local;
    }
}
