using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;

namespace Khonsu.Data;

/// <summary>One execution of a <see cref="KhonsuCommand"/> on its backend.</summary>
internal sealed class RunningStatement(
    KhonsuConnection connection,
    KhonsuTransaction? transaction,
    RouteDecision route,
    DbConnection innerConnection,
    BackendTransaction? local,
    DbCommand inner,
    KhonsuParameterCollection parameters)
{
    public DbCommand Inner { get; } = inner;

    /// <summary>The statement's span and latency measurement, ended when the statement ends.</summary>
    public Diagnostics.StatementScope? Telemetry { get; init; }

    /// <summary>
    /// At the first read of a result set inside a transaction: a tracker for its rows where the
    /// backend can tell them apart, and a whole-table read of every table it could have read otherwise
    /// (an aggregate, a projection without the key, an empty result).
    /// </summary>
    public IRowReadTracker? StartResultSet(DbDataReader reader, bool hasRow)
    {
        if (local is null || transaction is null)
        {
            return null;
        }

        var tracker = hasRow ? local.TrackReads(reader, Inner.CommandText) : null;
        transaction.RecordTableReads(route, tracker?.Tables ?? []);
        return tracker;
    }

    /// <summary>The statement's error as the caller should see it (see <see cref="BackendTransaction.AsSerializationFailure"/>).</summary>
    public Exception Translate(DbException error) => local?.AsSerializationFailure(error) ?? (Exception)error;

    /// <summary>The statement has run on its backend (its snapshot there is taken).</summary>
    public void Ran() => transaction?.StatementRan();

    /// <summary>After the statement ran: output parameters back, and the catalog refreshed after DDL.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        ParameterCopier.CopyOut(Inner, parameters);
        if (route.ChangesSchema)
        {
            await connection.Runtime.OnSchemaChangedAsync(route.Backend, innerConnection, local, cancellationToken).ConfigureAwait(false);
        }
    }
}
