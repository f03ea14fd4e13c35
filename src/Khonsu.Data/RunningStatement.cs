using System.Data.Common;
using Khonsu.Data.Backends;
using Khonsu.Data.Routing;

namespace Khonsu.Data;

/// <summary>One execution of a <see cref="KhonsuCommand"/> on its backend.</summary>
internal sealed class RunningStatement(
    KhonsuConnection connection,
    RouteDecision route,
    DbConnection innerConnection,
    BackendTransaction? local,
    DbCommand inner,
    KhonsuParameterCollection parameters)
{
    public DbCommand Inner { get; } = inner;

    /// <summary>The statement's span and latency measurement, ended when the statement ends.</summary>
    public Diagnostics.StatementScope? Telemetry { get; init; }

    /// <summary>A read tracker for the inner reader's current result set, when inside a transaction.</summary>
    public IRowReadTracker? TrackReads(DbDataReader reader) => local?.TrackReads(reader, Inner.CommandText);

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
