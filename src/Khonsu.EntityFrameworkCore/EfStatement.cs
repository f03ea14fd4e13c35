using System.Data;
using System.Data.Common;
using Khonsu.Data;
using Khonsu.Data.Execution;
using Khonsu.Data.Routing;

namespace Khonsu.EntityFrameworkCore;

/// <summary>
/// A command EF Core built on a backend's provider connection, as Khonsu's statement pipeline sees
/// it (<see cref="StatementExecution"/>): routed to the context's backend, run by EF itself unless
/// a write-conflict policy or a Replace branch needs Khonsu to run it.
/// </summary>
internal sealed class EfStatement(KhonsuBackendBinding binding, DbCommand command, bool mayBeginImplicit, bool recordsWriteReads) : IKhonsuStatement
{
    public string CommandText => command.CommandText;

    public CommandType CommandType => command.CommandType;

    public int CommandTimeout => command.CommandTimeout;

    public KhonsuConnection Connection => binding.ExecutionConnection;

    public KhonsuTransaction? Transaction => null;

    public DbCommand? GivenCommand => command;

    public bool MayBeginImplicit => mayBeginImplicit;

    public bool RecordsWriteReads => recordsWriteReads;

    public RouteDecision Route() => binding.RouteOf(command.CommandText);

    /// <summary>For a copy of the command on the participant's branch: EF's parameters, cloned.</summary>
    public void CopyParametersTo(DbCommand inner)
    {
        foreach (DbParameter parameter in command.Parameters)
        {
            inner.Parameters.Add(parameter is ICloneable cloneable
                ? cloneable.Clone()
                : throw new InvalidOperationException($"Parameter '{parameter.ParameterName}' ({parameter.GetType().Name}) cannot be copied to the branch of backend '{binding.Backend.Name}'."));
        }
    }

    /// <summary>EF reads output values from its own command.</summary>
    public void CopyParametersFrom(DbCommand inner)
    {
    }
}
