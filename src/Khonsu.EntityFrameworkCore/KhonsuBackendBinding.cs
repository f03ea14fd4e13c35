using System.Data.Common;
using Khonsu.Data;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Data.Routing;

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
    /// waits when the transaction spans several backends. Outside a transaction, a command that
    /// writes rows (<paramref name="mayBeginImplicit"/>: one whose end the interceptor sees, not a
    /// reader's) gets an implicit transaction of its own, as KhonsuCommand's statements do (key
    /// <c>Autocommit</c>); any other command runs as it is and null is returned.
    /// </summary>
    public async ValueTask<Enlistment?> EnlistAsync(DbCommand command, bool mayBeginImplicit, CancellationToken cancellationToken)
    {
        var transaction = Transaction;
        if (transaction is null && (!mayBeginImplicit || Connection.Runtime.Settings.Autocommit != AutocommitMode.Transaction))
        {
            return null;
        }

        var backend = Backend;
        var route = RouteOf(backend, command.CommandText);
        if (transaction is null && !route.RunsAsImplicitTransaction)
        {
            return null;
        }

        var inner = await Connection.GetInnerConnectionAsync(backend, cancellationToken).ConfigureAwait(false);
        if (!ReferenceEquals(inner, command.Connection))
        {
            throw new InvalidOperationException(
                $"This DbContext runs on another connection than the Khonsu connection's '{backend.Name}' backend: build it with the connection from GetBackendConnectionAsync.");
        }

        var begun = transaction is null ? Connection.BeginImplicitTransaction() : null;
        transaction ??= begun!;
        try
        {
            var local = await transaction.EnlistAsync(backend, inner, cancellationToken).ConfigureAwait(false);
            transaction.Record(backend.Name, command.CommandText);
            command.Transaction = local.InnerTransaction;
            await local.BeforeStatementAsync(command, transaction.SpansSeveralBackends, cancellationToken).ConfigureAwait(false);
            if (transaction.IsolationLevel == System.Data.IsolationLevel.Serializable)
            {
                // Only a serializable transaction's reads go to the certifier: from the database's parser, as for Khonsu's own commands.
                route = await Connection.Runtime.Router.WithParsedReadsAsync(route, local, command, cancellationToken).ConfigureAwait(false);
            }

            return new Enlistment(transaction, local, route) { Implicit = begun is not null };
        }
        catch when (begun is not null)
        {
            await begun.RollBackQuietlyAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Which tables the statement may read, as Khonsu's router tells for its own statements. The
    /// context fixes the backend; if the router would send the statement elsewhere (a table Khonsu
    /// does not know yet) or cannot route it, it counts as possibly reading any table of the backend,
    /// and as possibly writing, so that a write's filter counts as such a read too. What the text
    /// itself says (DDL, its own BEGIN/COMMIT) still holds there, so that such a statement run
    /// outside a transaction is not wrapped in an implicit one.
    /// </summary>
    private RouteDecision RouteOf(KhonsuBackend backend, string sql)
    {
        RouteDecision? elsewhere = null;
        try
        {
            var route = Connection.Runtime.Router.Route(sql);
            if (route.Backend == backend)
            {
                return route;
            }

            elsewhere = route;
        }
        catch (KhonsuException)
        {
            // Falls through to the conservative answer.
        }

        return new RouteDecision(backend, ChangesSchema: elsewhere?.ChangesSchema ?? false, ReadTables: [], ReadsUnknownRelations: true)
        {
            Writes = true,
            ControlsTransaction = elsewhere?.ControlsTransaction ?? false,
        };
    }
}
