using System.Data.Common;
using Khonsu.Data;
using Khonsu.Data.Backends;
using Khonsu.Data.Configuration;
using Khonsu.Data.Execution;
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

    /// <summary>
    /// The connection the context's statements run on: the Khonsu connection itself, or while it is
    /// enlisted in a TransactionScope, the connection that scope's Khonsu transaction runs on (whose
    /// backend connection the context then runs on too: see <see cref="KhonsuDbContextOptionsExtensions.GetBackendConnectionAsync"/>).
    /// </summary>
    public KhonsuConnection ExecutionConnection => Connection.ExecutionConnection;

    /// <summary>The backend's provider connection the context runs on, opened on first use (see <see cref="ExecutionConnection"/>).</summary>
    /// <param name="async">False for a synchronous caller (options built in OnConfiguring or AddDbContext).</param>
    public ValueTask<DbConnection> ProviderConnectionAsync(bool async, CancellationToken cancellationToken)
        => ExecutionConnection.GetInnerConnectionAsync(Backend, async, cancellationToken);

    /// <summary>The Khonsu transaction in progress on the connection (a TransactionScope's, when it is enlisted in one), if any.</summary>
    public KhonsuTransaction? Transaction => ExecutionConnection.CurrentTransaction;

    /// <summary>
    /// Begins the command's run through Khonsu's statement pipeline (see <see cref="StatementExecution"/>)
    /// when it takes part in a Khonsu transaction: the one in progress, or, outside one, an implicit
    /// transaction of its own for a command that writes rows (<paramref name="mayBeginImplicit"/>:
    /// one whose end the interceptor sees, not a reader's), as Khonsu's own statements do (key
    /// <c>Autocommit</c>), or DDL, after which the catalog is refreshed. Any other command runs as
    /// it is, and null is returned.
    /// <paramref name="recordsWriteReads"/>: false for SaveChanges' statements (see <see cref="IKhonsuStatement.RecordsWriteReads"/>).
    /// </summary>
    public async ValueTask<StatementExecution?> BeginAsync(DbCommand command, bool mayBeginImplicit, bool recordsWriteReads, bool async, CancellationToken cancellationToken)
    {
        if (Transaction is null)
        {
            var route = RouteOf(command.CommandText);
            var beginsImplicit = mayBeginImplicit && Connection.Runtime.Settings.Autocommit == AutocommitMode.Transaction && route.RunsAsImplicitTransaction;
            if (!beginsImplicit && !route.ChangesSchema)
            {
                return null;
            }
        }

        return await StatementExecution.BeginAsync(new EfStatement(this, command, mayBeginImplicit, recordsWriteReads), async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Which tables the statement may read, as Khonsu's router tells for its own statements. The
    /// context fixes the backend; if the router would send the statement elsewhere (a table Khonsu
    /// does not know yet) or cannot route it, it counts as possibly reading any table of the backend,
    /// and as possibly writing, so that a write's filter counts as such a read too. What the text
    /// itself says (DDL, its own BEGIN/COMMIT) still holds there, so that such a statement run
    /// outside a transaction is not wrapped in an implicit one.
    /// </summary>
    public RouteDecision RouteOf(string sql)
    {
        var backend = Backend;
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
